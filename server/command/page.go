package command

import (
	"context"
	"fmt"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// runPage pages a role's holder on the incident, or a person by name:
// "/incident page [#id] <role|@user> [message]".
func runPage(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, rest, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	who, msg, _ := cutSpace(rest)
	if who == "" {
		return Reply{}, incident.Invalidf("say whom to page: a role (l1, l2, l3, im, rm) or @username")
	}
	req := app.PageRequest{Actor: c.UserID, Message: msg}
	if strings.HasPrefix(who, "@") {
		if req.User, err = h.user(who); err != nil {
			return Reply{}, err
		}
	} else if req.Role, err = incident.ParseRole(who); err != nil {
		return Reply{}, incident.Invalidf("%q is neither a role (l1, l2, l3, im, rm) nor a @username", who)
	}
	p, err := h.App.Page(ctx, inc, req)
	if err != nil {
		return Reply{}, err
	}
	t := p.Target()
	as := ""
	if t.Role != "" {
		as = " (" + t.Role.Title() + ")"
	}
	return Reply{Text: h.Render(fmt.Sprintf("Paged <@%s>%s on %s, in the rota channel and by direct message, until someone acknowledges.",
		t.UserID, as, inc.ShortRef()))}, nil
}

func pageArgs(a *model.AutocompleteData) {
	a.AddTextArgument("Whom to page: a role (l1, l2, l3, im, rm) or @username, then an optional message", "<role|@user> [message]", "")
}
