package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// Self-service on the rota (see rota/shift.go): a member takes a shift,
// or offers theirs and another member takes it; when the rota requires
// approval, a rota admin approves or declines with a button. Each request
// is stored before its post is made, and the post's buttons name it; each
// decision is one compare-and-set of the rota, so two admins pressing at
// once decide it once.

// Shifts is the chat side of shift requests. Optional: without it shifts
// cannot be offered or approved and no duty notices go out.
type Shifts interface {
	// PostShift posts s in s.ChannelID with the buttons its state allows,
	// and returns the post id; UpdateShift re-renders s.Request.PostID.
	PostShift(ctx context.Context, s *ShiftPost) (string, error)
	UpdateShift(ctx context.Context, s *ShiftPost) error
	// Tell sends userID a direct message; text holds <@id> references.
	Tell(ctx context.Context, userID, text string) error
}

// ShiftPost is a shift request as its post shows it.
type ShiftPost struct {
	Rota      string
	ChannelID string
	Zone      *time.Location
	Request   rota.ShiftRequest
	State     ShiftState
	// Admins are mentioned on a request that waits for approval.
	Admins []string
	// By decided it (approved, declined, withdrew, or took an offer).
	By string
}

// ShiftState is where a shift request stands.
type ShiftState string

// The states of a shift request.
const (
	ShiftOffered   ShiftState = "offered"   // waits for a taker
	ShiftAsked     ShiftState = "asked"     // waits for a rota admin
	ShiftTaken     ShiftState = "taken"     // changed hands
	ShiftDeclined  ShiftState = "declined"  // a rota admin said no
	ShiftWithdrawn ShiftState = "withdrawn" // its asker took it back
)

// ShiftResult says what a shift command or button did.
type ShiftResult struct {
	Request rota.ShiftRequest
	State   ShiftState
}

func (a *App) shiftsOn() error {
	if a.shifts == nil {
		return incident.Invalidf("shift requests are not available here")
	}
	return nil
}

// isMember reports whether user is in role's rotation of v.
func isMember(v *RotaView, role incident.Role, user string) bool {
	return slices.Contains(v.Rota.Members[role], user)
}

// TakeShift has actor take role in rota name during [from, to): at once,
// or, when the rota requires approval, once a rota admin approves.
func (a *App) TakeShift(ctx context.Context, actor, name string, role incident.Role, from, to time.Time) (*ShiftResult, error) {
	if err := a.shiftsOn(); err != nil {
		return nil, err
	}
	e, err := a.rotaEntry(ctx, name)
	if err != nil {
		return nil, err
	}
	var res ShiftResult
	v, _, _, err := a.editRota(ctx, actor, e, func(v *RotaView, now time.Time) ([]string, error) {
		if !isMember(v, role, actor) {
			return nil, incident.Forbiddenf("only members of the %s rotation of rota %s take its shifts; a rota admin adds you or sets an override", role.Title(), e.Name)
		}
		owner, err := v.Rota.CheckShift(role, from, to, v.Schedule, now)
		if err != nil {
			return nil, err
		}
		if owner == actor {
			return nil, incident.Conflictf("you are on duty for %s then already", role.Title())
		}
		q := rota.ShiftRequest{ID: a.newID(), Role: role, From: from, To: to, For: owner, Taker: actor, At: now}
		res = ShiftResult{Request: q, State: ShiftTaken}
		if v.Rota.Approval {
			res.State = ShiftAsked
			v.Note = fmt.Sprintf("%s asked to take %s's %s shift %s", rota.UserRef(actor), rota.UserRef(owner), role.Title(), span(v, q))
			return nil, v.Rota.AddRequest(q)
		}
		v.Note = fmt.Sprintf("%s took %s's %s shift %s", rota.UserRef(actor), rota.UserRef(owner), role.Title(), span(v, q))
		return warningStrings(v.Rota.GiveShift(q, actor, actor))
	})
	if err != nil {
		return nil, err
	}
	if res.State == ShiftAsked {
		return &res, a.postRequest(ctx, e, v, res.Request, ShiftAsked, "")
	}
	a.tell(ctx, res.Request.For, fmt.Sprintf("%s took your %s shift in rota `%s` %s.", rota.UserRef(actor), role.Title(), e.Name, span(v, res.Request)))
	return &res, nil
}

// OfferShift has actor, on duty for role in rota name at from, offer that
// shift until to in the rota channel, for another member to take.
func (a *App) OfferShift(ctx context.Context, actor, name string, role incident.Role, from, to time.Time) (*ShiftResult, error) {
	if err := a.shiftsOn(); err != nil {
		return nil, err
	}
	e, err := a.rotaEntry(ctx, name)
	if err != nil {
		return nil, err
	}
	var q rota.ShiftRequest
	v, _, _, err := a.editRota(ctx, actor, e, func(v *RotaView, now time.Time) ([]string, error) {
		if v.Rota.ChannelID == "" {
			return nil, incident.Invalidf("rota %s has no channel to offer shifts in; a rota admin runs `/incident rota channel --rota %s` there", e.Name, e.Name)
		}
		owner, err := v.Rota.CheckShift(role, from, to, v.Schedule, now)
		if err != nil {
			return nil, err
		}
		if owner != actor {
			return nil, incident.Forbiddenf("%s is on duty for %s then, not you: only the member on duty offers a shift (or use `take`)", rota.UserRef(owner), role.Title())
		}
		q = rota.ShiftRequest{ID: a.newID(), Role: role, From: from, To: to, For: actor, OfferedBy: actor, At: now}
		v.Note = fmt.Sprintf("%s offered their %s shift %s", rota.UserRef(actor), role.Title(), span(v, q))
		return nil, v.Rota.AddRequest(q)
	})
	if err != nil {
		return nil, err
	}
	return &ShiftResult{Request: q, State: ShiftOffered}, a.postRequest(ctx, e, v, q, ShiftOffered, "")
}

// The answers to a shift request's buttons.
const (
	ShiftTake     = "take"
	ShiftApprove  = "approve"
	ShiftDecline  = "decline"
	ShiftWithdraw = "withdraw"
)

// AnswerShift answers the shift request id of rota name: a member takes
// an offer, a rota admin approves or declines, the asker (or an admin)
// withdraws. It returns the state the request reached.
func (a *App) AnswerShift(ctx context.Context, actor, name, id, answer string) (*ShiftResult, error) {
	if err := a.shiftsOn(); err != nil {
		return nil, err
	}
	e, err := a.rotaEntry(ctx, name)
	if err != nil {
		return nil, err
	}
	admin := a.mayEditRotaOf(ctx, actor, e)
	var res ShiftResult
	v, _, _, err := a.editRota(ctx, actor, e, func(v *RotaView, now time.Time) ([]string, error) {
		p, ok := v.Rota.Request(id)
		if !ok {
			return nil, incident.NotFoundf("that shift request was decided, withdrawn or is over")
		}
		q := *p
		who := fmt.Sprintf("%s's %s shift %s", rota.UserRef(q.For), q.Role.Title(), span(v, q))
		switch answer {
		case ShiftTake:
			if q.Taker != "" {
				return nil, incident.Conflictf("%s has taken that shift already", rota.UserRef(q.Taker))
			}
			if actor == q.OfferedBy || !isMember(v, q.Role, actor) {
				return nil, incident.Forbiddenf("only another member of the %s rotation takes that shift", q.Role.Title())
			}
			q.Taker = actor
			if v.Rota.Approval {
				*p, res = q, ShiftResult{Request: q, State: ShiftAsked}
				v.Note = fmt.Sprintf("%s asked to take %s", rota.UserRef(actor), who)
				return nil, nil
			}
			res = ShiftResult{Request: q, State: ShiftTaken}
			v.Note = fmt.Sprintf("%s took %s", rota.UserRef(actor), who)
		case ShiftApprove, ShiftDecline:
			if !admin {
				return nil, incident.Forbiddenf("only the admins of rota %s approve or decline its shift requests", e.Name)
			}
			if q.Taker == "" {
				return nil, incident.Conflictf("nobody has taken that offer yet")
			}
			res = ShiftResult{Request: q, State: ShiftTaken}
			v.Note = fmt.Sprintf("%s approved: %s takes %s", rota.UserRef(actor), rota.UserRef(q.Taker), who)
			if answer == ShiftDecline {
				res.State = ShiftDeclined
				v.Note = fmt.Sprintf("%s declined: %s taking %s", rota.UserRef(actor), rota.UserRef(q.Taker), who)
			}
		case ShiftWithdraw:
			if actor != q.OfferedBy && actor != q.Taker && !admin {
				return nil, incident.Forbiddenf("only whoever asked withdraws a shift request")
			}
			res = ShiftResult{Request: q, State: ShiftWithdrawn}
			v.Note = fmt.Sprintf("%s withdrew the request for %s", rota.UserRef(actor), who)
		default:
			return nil, incident.Invalidf("unknown answer %q", answer)
		}
		v.Rota.DropRequest(q.ID)
		if res.State != ShiftTaken {
			return nil, nil
		}
		return warningStrings(v.Rota.GiveShift(q, q.Taker, actor))
	})
	if err != nil {
		return nil, err
	}
	a.showRequest(ctx, e, v, res.Request, res.State, actor)
	q := res.Request
	switch res.State {
	case ShiftTaken:
		a.tell(ctx, q.For, fmt.Sprintf("%s takes your %s shift in rota `%s` %s.", rota.UserRef(q.Taker), q.Role.Title(), e.Name, span(v, q)))
		if actor != q.Taker {
			a.tell(ctx, q.Taker, fmt.Sprintf("You take %s's %s shift in rota `%s` %s (approved by %s).", rota.UserRef(q.For), q.Role.Title(), e.Name, span(v, q), rota.UserRef(actor)))
		}
	case ShiftDeclined:
		a.tell(ctx, q.Taker, fmt.Sprintf("%s declined your taking %s's %s shift in rota `%s` %s.", rota.UserRef(actor), rota.UserRef(q.For), q.Role.Title(), e.Name, span(v, q)))
	}
	return &res, nil
}

// postRequest posts a new request and records its post; a request whose
// post cannot be made is dropped again, so that nothing waits unseen.
func (a *App) postRequest(ctx context.Context, e rotaEntry, v *RotaView, q rota.ShiftRequest, state ShiftState, by string) error {
	sp := a.shiftPost(ctx, e, v, q, state, by)
	postID, err := a.shifts.PostShift(ctx, sp)
	_, _, _, rerr := a.editRota(context.WithoutCancel(ctx), incident.ActorSystem, e, func(v *RotaView, _ time.Time) ([]string, error) {
		p, ok := v.Rota.Request(q.ID)
		switch {
		case !ok:
			return nil, errUnchanged
		case err != nil:
			v.Rota.DropRequest(q.ID)
		default:
			p.PostID = postID
		}
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("post the shift request in the rota channel (nothing was changed): %w", err)
	}
	if rerr != nil && !errors.Is(rerr, errUnchanged) {
		a.log.Warn().Err(rerr).Str("rota", e.Name).Str("request", q.ID).Msg("record the post of a shift request; its buttons still name it")
	}
	return nil
}

// showRequest re-renders a decided request's post, when it has one.
func (a *App) showRequest(ctx context.Context, e rotaEntry, v *RotaView, q rota.ShiftRequest, state ShiftState, by string) {
	if q.PostID == "" {
		return
	}
	if err := a.shifts.UpdateShift(ctx, a.shiftPost(ctx, e, v, q, state, by)); err != nil {
		a.log.Warn().Err(err).Str("rota", e.Name).Str("request", q.ID).Msg("update a shift request's post")
	}
}

func (a *App) shiftPost(ctx context.Context, e rotaEntry, v *RotaView, q rota.ShiftRequest, state ShiftState, by string) *ShiftPost {
	sp := &ShiftPost{Rota: e.Name, ChannelID: v.Rota.ChannelID, Zone: v.Location, Request: q, State: state, By: by}
	if state == ShiftAsked {
		sp.Admins = slices.Clone(e.Admins)
		for _, u := range a.settings().RotaAdmins {
			if !slices.Contains(sp.Admins, u) {
				sp.Admins = append(sp.Admins, u)
			}
		}
	}
	return sp
}

// tell sends a direct message, logging a failure: the change it reports
// is stored and shown in the rota channel either way.
func (a *App) tell(ctx context.Context, user, text string) {
	if user == "" || a.shifts == nil {
		return
	}
	if err := a.shifts.Tell(ctx, user, text); err != nil {
		a.log.Warn().Err(err).Str("user", user).Msg("tell a rota member by direct message")
	}
}

// span shows a shift's period in the rota's zone.
func span(v *RotaView, q rota.ShiftRequest) string {
	loc := v.Location
	if loc == nil {
		loc = time.UTC
	}
	const layout = "Mon 2006-01-02 15:04"
	return fmt.Sprintf("from %s to %s %s", q.From.In(loc).Format(layout), q.To.In(loc).Format(layout), loc)
}

func warningStrings(ws []rota.Warning, err error) ([]string, error) {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out, err
}

// RotaHistory returns the rota's history, newest first, at most limit.
func (a *App) RotaHistory(ctx context.Context, name string, limit int) ([]rota.Change, []rota.ShiftRequest, error) {
	v, err := a.RotaOf(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	h := slices.Clone(v.Rota.History)
	slices.Reverse(h)
	if len(h) > limit {
		h = h[:limit]
	}
	return h, v.Rota.Requests, nil
}
