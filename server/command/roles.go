package command

import (
	"context"
	"fmt"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// user resolves "@name" (or "name") to a user id.
func (h *Handler) user(token string) (string, error) {
	name := strings.TrimPrefix(strings.TrimSpace(token), "@")
	if name == "" {
		return "", incident.Invalidf("name a person as @username")
	}
	id, ok := h.UserID(strings.ToLower(name))
	if !ok {
		return "", incident.Invalidf("no user @%s: check the spelling (autocomplete helps)", name)
	}
	return id, nil
}

// roleAndUser parses "<role> @user" with nothing after it.
func (h *Handler) roleAndUser(args string) (incident.Role, string, error) {
	f := strings.Fields(args)
	if len(f) != 2 {
		return "", "", incident.Invalidf("give a role and a person, e.g. `l2 @alice`")
	}
	role, err := incident.ParseRole(f[0])
	if err != nil {
		return "", "", err
	}
	id, err := h.user(f[1])
	return role, id, err
}

func runRole(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, args, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	role, user, err := h.roleAndUser(args)
	if err != nil {
		return Reply{}, err
	}
	if _, err := h.App.AssignRole(ctx, c.UserID, inc, role, user); err != nil {
		return Reply{}, err
	}
	return Reply{Text: h.Render(fmt.Sprintf("<@%s> is now %s on %s.", user, role.Title(), inc.ShortRef()))}, nil
}

func runHandover(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, args, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	role, user, err := h.roleAndUser(args)
	if err != nil {
		return Reply{}, err
	}
	if _, err := h.App.RequestHandover(ctx, c.UserID, inc, role, user); err != nil {
		return Reply{}, err
	}
	return Reply{Text: h.Render(fmt.Sprintf("Handover of %s to <@%s> requested; it completes when they press **I have it**.", role.Title(), user))}, nil
}
