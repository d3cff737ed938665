package command

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// Self-service on the rota: take a shift, offer yours, and (rota admins)
// whether taking needs approval and whether people hear of their duty a
// week ahead. The rota's history shows every change.

// shiftArgs reads "<role> <from> <to>" in rota name's zone.
func shiftArgs(ctx context.Context, h *Handler, name, args string) (incident.Role, time.Time, time.Time, error) {
	f := strings.Fields(args)
	if len(f) < 3 {
		return "", time.Time{}, time.Time{}, incident.Invalidf("give a role, a start and an end")
	}
	role, err := incident.ParseRole(f[0])
	if err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	v, err := h.App.RotaOf(ctx, name)
	if err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	from, to, err := period(f[1:], v.Location)
	return role, from, to, err
}

func rotaTake(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	role, from, to, err := shiftArgs(ctx, h, c.Rota, args)
	if err != nil {
		return Reply{}, err
	}
	res, err := h.App.TakeShift(ctx, c.UserID, c.Rota, role, from, to)
	if err != nil {
		return Reply{}, err
	}
	if res.State == app.ShiftAsked {
		return Reply{Text: h.Render(fmt.Sprintf("Asked: a rota admin approves or declines your taking %s's %s shift; the request is in the rota channel.", rota.UserRef(res.Request.For), role.Title()))}, nil
	}
	return Reply{Text: h.Render(fmt.Sprintf("You hold %s's %s shift then; they are told.", rota.UserRef(res.Request.For), role.Title()))}, nil
}

func rotaOffer(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	role, from, to, err := shiftArgs(ctx, h, c.Rota, args)
	if err != nil {
		return Reply{}, err
	}
	if _, err := h.App.OfferShift(ctx, c.UserID, c.Rota, role, from, to); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Offered in the rota channel: until someone takes it, your %s shift stays yours.", role.Title())}, nil
}

// rotaSwitch is an on/off setting of the rota (admins).
func rotaSwitch(what string, set func(r *rota.Rota, on bool), on, off string) func(context.Context, *Handler, Call, string) (Reply, error) {
	return func(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
		v, err := onOff(args)
		if err != nil {
			return Reply{}, incident.Invalidf("%s is on or off", what)
		}
		text := off
		if v {
			text = on
		}
		return h.editRota(ctx, c, text, func(rv *app.RotaView, _ time.Time) ([]string, error) {
			set(rv.Rota, v)
			return nil, nil
		})
	}
}

var (
	rotaApproval = rotaSwitch("approval", func(r *rota.Rota, on bool) { r.Approval = on },
		"Taking a shift now needs a rota admin's approval (a button in the rota channel).", "Members now take shifts without approval.")
	rotaNotices = rotaSwitch("notices", func(r *rota.Rota, on bool) { r.DutyNotice = on },
		"At each handoff, the people on duty the week after are told by direct message.", "No more duty notices.")
)

// historyShown bounds the entries /incident rota history shows.
const historyShown = 30

func rotaHistory(ctx context.Context, h *Handler, c Call, _ string) (Reply, error) {
	changes, open, err := h.App.RotaHistory(ctx, c.Rota, historyShown)
	if err != nil {
		return Reply{}, err
	}
	v, err := h.App.RotaOf(ctx, c.Rota)
	if err != nil {
		return Reply{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### History of rota `%s`, newest first\n", v.Name)
	if len(changes) == 0 {
		b.WriteString("Nothing recorded yet.\n")
	}
	for _, ch := range changes {
		fmt.Fprintf(&b, "- %s %s: %s\n", ch.At.In(v.Location).Format("2006-01-02 15:04"), rota.UserRef(ch.By), ch.Text)
	}
	if len(open) > 0 {
		b.WriteString("\n**Waiting:**\n")
		for _, q := range open {
			state := "offered by " + rota.UserRef(q.OfferedBy)
			if q.Taker != "" {
				state = rota.UserRef(q.Taker) + " would take it, waiting for approval"
			}
			fmt.Fprintf(&b, "- %s's %s shift %s to %s: %s\n", rota.UserRef(q.For), q.Role.Title(),
				q.From.In(v.Location).Format("Mon 2006-01-02 15:04"), q.To.In(v.Location).Format("Mon 2006-01-02 15:04"), state)
		}
	}
	return Reply{Text: h.Render(b.String())}, nil
}
