package app

import (
	"context"
	"fmt"

	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// groupsDoc names the one document of sign-off groups.
const groupsDoc = "signoff/v1/groups"

// SignoffGroups returns the sign-off groups (none if nobody defined any).
func (a *App) SignoffGroups(ctx context.Context) (*hotfix.Groups, error) {
	g, _, err := loadDoc[hotfix.Groups](ctx, a.store, groupsDoc)
	if err != nil {
		return nil, fmt.Errorf("read sign-off groups: %w", err)
	}
	return g, nil
}

// RequiredGroups are the groups a hotfix needs, from the settings.
func (a *App) RequiredGroups() []string { return a.settings().HotfixGroups }

// SetSignoffGroup defines group name with members, replacing its earlier
// members; system admins and rota admins may.
func (a *App) SetSignoffGroup(ctx context.Context, actor, name string, members []string) (*hotfix.Groups, error) {
	return a.editGroups(ctx, actor, func(g *hotfix.Groups) error { return g.Set(name, members) })
}

// RemoveSignoffGroup deletes group name.
func (a *App) RemoveSignoffGroup(ctx context.Context, actor, name string) (*hotfix.Groups, error) {
	return a.editGroups(ctx, actor, func(g *hotfix.Groups) error { return g.Remove(name) })
}

func (a *App) editGroups(ctx context.Context, actor string, edit func(*hotfix.Groups) error) (*hotfix.Groups, error) {
	if !a.mayEditRota(ctx, actor) {
		return nil, incident.Forbiddenf("only system admins and rota admins may change sign-off groups; `/incident signoff-group` shows them")
	}
	g, _, err := updateDoc(ctx, a.store, groupsDoc, func(g *hotfix.Groups, _ bool) error {
		if err := edit(g); err != nil {
			return err
		}
		g.Revision++
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.log.Info().Str("actor", actor).Int64("revision", g.Revision).Msg("sign-off groups edited")
	if a.onDuty != nil && a.onDuty.GroupSync() {
		a.boardChanged()
	}
	return g, nil
}
