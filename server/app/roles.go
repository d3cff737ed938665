package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

func (a *App) combinable() incident.Combinable { return a.settings().Policy.CanCombine }

// AssignRole gives role to user on the incident ("/incident role"). It is
// refused when user already holds a role it may not be combined with, or
// when someone else holds the role (that needs a handover).
func (a *App) AssignRole(ctx context.Context, actor string, inc *incident.Incident, role incident.Role, user string) (*incident.Incident, error) {
	why := "manual"
	if user == actor {
		why = "take"
	}
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		return i.AssignRole(now, actor, role, user, why, a.combinable())
	}, incident.Step{Kind: incident.StepJoin, User: user})
	return out, err
}

// RequestHandover asks user to take role over; the handover completes only
// when user accepts with the button on the handover post, which the
// follow-up posts (with user brought into the channel first).
func (a *App) RequestHandover(ctx context.Context, actor string, inc *incident.Incident, role incident.Role, user string) (*incident.Incident, error) {
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		return i.RequestHandover(now, actor, role, user, a.combinable())
	}, incident.Step{Kind: incident.StepJoin, User: user}, incident.Step{Kind: incident.StepHandover, User: user, Value: string(role)})
	return out, err
}

// AcceptHandover completes a pending handover of role; only its named new
// holder may accept. The follow-up marks the handover post accepted.
func (a *App) AcceptHandover(ctx context.Context, actor string, inc *incident.Incident, role incident.Role) (*incident.Incident, error) {
	out, _, err := a.commit(ctx, inc.ID, func(i *incident.Incident, now time.Time) ([]incident.Event, []incident.Step, error) {
		postID := i.Handovers[role].PostID
		ev, err := i.AcceptHandover(now, actor, role, a.combinable())
		if err != nil {
			return nil, nil, err
		}
		steps := changeSteps(i, ev)
		if postID != "" {
			steps = append(steps, incident.Step{Kind: incident.StepHandedOver, User: actor, Value: string(role) + ":" + postID})
		}
		return []incident.Event{ev}, steps, nil
	})
	return out, err
}

// handoverStep posts the pending handover of role to user (once: keyed) and
// links the post to the handover, unless it was accepted or withdrawn
// meanwhile.
func (a *App) handoverStep(ctx context.Context, inc *incident.Incident, role incident.Role, user string) error {
	h, pending := inc.Handovers[role]
	if !pending || h.To != user || h.PostID != "" {
		return nil
	}
	postID, err := a.chat.PostHandover(ctx, inc, role)
	if err != nil {
		return err
	}
	_, err = a.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error {
		h, ok := i.Handovers[role]
		if !ok || h.To != user || h.PostID != "" {
			return errUnchanged
		}
		h.PostID = postID
		i.Handovers[role] = h
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// handedOverStep marks the accepted handover's post: value is "role:post".
func (a *App) handedOverStep(ctx context.Context, inc *incident.Incident, value, acceptedBy string) error {
	role, postID, ok := strings.Cut(value, ":")
	if !ok || postID == "" {
		return nil
	}
	return a.chat.CloseHandover(ctx, inc, incident.Role(role), postID, acceptedBy)
}

// staff fills a new incident's roles from the rota at its start and returns
// the events that explain who got what and why. A rota that cannot be read
// leaves every role open, so an incident can always start.
func (a *App) staff(ctx context.Context, inc *incident.Incident) []incident.Event {
	v, st, err := a.StaffingOf(ctx, inc.Rota, inc.CreatedAt)
	if err != nil {
		a.log.Error().Err(err).Msg("read rota for staffing; roles stay open")
		v, st = &RotaView{Rota: &rota.Rota{}}, rota.Staffing{}
	}
	at := inc.CreatedAt
	inc.Roles = map[incident.Role]string{}
	inc.RoleNotes = map[incident.Role]string{}
	subs := map[incident.Role]rota.Substitution{}
	for _, s := range st.Substitutions {
		subs[s.Role] = s
	}
	var events []incident.Event
	for _, role := range incident.Roles {
		user := st.Holders[role]
		if s, ok := subs[role]; ok {
			ev := incident.NewEvent(at, incident.ActorSystem, incident.EventRoleSubstituted, s.String()).
				With(incident.DataRole, string(role)).With(incident.DataFrom, s.Scheduled).With(incident.DataWhy, string(s.Reason))
			if user != "" {
				ev = ev.With(incident.DataTo, user)
			}
			events = append(events, ev)
			inc.RoleNotes[role] = roleNote(s)
		}
		if user == "" {
			if len(v.Rota.Members[role]) == 0 {
				continue // no rota for this role: nothing to explain
			}
			events = append(events, incident.NewEvent(at, incident.ActorSystem, incident.EventRoleOpen, "nobody in the rota is available").
				With(incident.DataRole, string(role)))
			continue
		}
		inc.Roles[role] = user
		why := "substitute"
		if _, sub := subs[role]; !sub {
			why = string(st.Duties[role].Source)
		}
		events = append(events, incident.NewEvent(at, incident.ActorSystem, incident.EventRoleAssigned, "").
			With(incident.DataRole, string(role)).With(incident.DataTo, user).With(incident.DataWhy, why))
	}
	return events
}

// roleNote is the short note the card shows beside a substitute.
func roleNote(s rota.Substitution) string {
	switch s.Reason {
	case rota.ReasonDoubleDuty:
		return "substitute: " + rota.UserRef(s.Scheduled) + " keeps " + s.Kept.Title()
	case rota.ReasonAway:
		return "covering: " + rota.UserRef(s.Scheduled) + " is away"
	}
	return "substitute for " + rota.UserRef(s.Scheduled)
}
