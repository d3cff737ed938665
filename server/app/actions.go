package app

import (
	"context"
	"strconv"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func actionsDoc(incidentID string) string { return "actions/v1/" + incidentID }

// ActionItems returns the incident's action items.
func (a *App) ActionItems(ctx context.Context, inc *incident.Incident) (*incident.ActionItems, error) {
	l, _, err := loadDoc[incident.ActionItems](ctx, a.store, actionsDoc(inc.ID))
	return l, err
}

// AddActionItem adds a follow-up task, owned by owner ("" = nobody yet).
// The item and its timeline event are stored together (see owed.go).
func (a *App) AddActionItem(ctx context.Context, actor string, inc *incident.Incident, text, owner string, due time.Time) (incident.ActionItem, error) {
	now := a.now()
	var item incident.ActionItem
	_, err := oweOn(ctx, a, actionsDoc(inc.ID), inc.ID, func(l *incident.ActionItems, _ bool) ([]incident.Event, []incident.Step, error) {
		var err error
		if item, err = l.Add(now, actor, text, owner, due); err != nil {
			return nil, nil, err
		}
		ev := incident.NewEvent(now, actor, incident.EventActionAdded, item.Text).With("n", strconv.Itoa(item.N))
		if owner != "" {
			ev = ev.With("owner", owner)
		}
		if !due.IsZero() {
			ev = ev.With("due", item.Due.Format(time.RFC3339))
		}
		return []incident.Event{ev}, nil, nil
	})
	return item, err
}

// CompleteActionItem marks item n done.
func (a *App) CompleteActionItem(ctx context.Context, actor string, inc *incident.Incident, n int) (incident.ActionItem, error) {
	now := a.now()
	var item incident.ActionItem
	_, err := oweOn(ctx, a, actionsDoc(inc.ID), inc.ID, func(l *incident.ActionItems, _ bool) ([]incident.Event, []incident.Step, error) {
		var err error
		if item, err = l.Done(now, actor, n); err != nil {
			return nil, nil, err
		}
		return []incident.Event{incident.NewEvent(now, actor, incident.EventActionDone, item.Text).With("n", strconv.Itoa(n))}, nil, nil
	})
	return item, err
}

// SetImpact records who or what the incident affected.
func (a *App) SetImpact(ctx context.Context, actor string, inc *incident.Incident, text string) (*incident.Incident, error) {
	text, err := incident.CleanImpact(text)
	if err != nil {
		return nil, err
	}
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		i.Impact, i.UpdatedAt = text, now.UTC()
		return incident.NewEvent(now, actor, incident.EventImpactSet, text), nil
	})
	return out, err
}
