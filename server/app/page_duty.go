package app

import (
	"context"
	"errors"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// DutyPageRequest pages whoever is on duty for a role, outside any
// incident: what "@release-manager !page <message>" asks for.
type DutyPageRequest struct {
	Actor string
	Role  incident.Role
	// ChannelID is where the handle was used; the page is posted there
	// (with a thread reply) besides the target's direct message.
	ChannelID string
	// RootID is the thread of the post that asked for the page.
	RootID  string
	Message string
}

// PageOnDuty pages the rota's current holder of req.Role (substitutions and
// away periods applied). Not built yet: the lead writes it.
func (a *App) PageOnDuty(ctx context.Context, req DutyPageRequest) (*Page, error) {
	return nil, errors.New("paging through a handle is not built yet")
}
