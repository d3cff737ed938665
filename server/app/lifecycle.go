package app

import (
	"context"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/postmortem"
)

// change applies one validated transition to the stored incident, records
// its event and tells people. Concurrent changes are serialised by the
// store's compare-and-set; a transition that became invalid meanwhile
// (two people resolving at once) fails with the domain's conflict error.
func (a *App) change(ctx context.Context, id string, apply func(*incident.Incident, time.Time) (incident.Event, error)) (*incident.Incident, incident.Event, error) {
	var ev incident.Event
	inc, err := a.store.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
		e, err := apply(inc, a.now())
		ev = e
		return err
	})
	if err != nil {
		return nil, incident.Event{}, err
	}
	ev, err = a.record(ctx, id, ev)
	a.afterChange(ctx, inc, ev)
	a.afterFreezeChange(ctx, ev)
	return inc, ev, err
}

// PostUpdate records a status update and broadcasts it.
func (a *App) PostUpdate(ctx context.Context, actor string, inc *incident.Incident, text string) (*incident.Incident, error) {
	text, err := incident.CleanText("status update", text, incident.MaxTextRunes, true)
	if err != nil {
		return nil, err
	}
	cadence := a.settings().UpdateCadence[inc.Severity]
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		due := i.UpdateDue(cadence)
		ev, err := i.PostUpdate(now, actor, text)
		if err == nil && !due.IsZero() && now.After(due) {
			// The postmortem compares updates with the cadence target.
			ev = ev.With(incident.DataOverdue, now.Sub(due).Round(time.Second).String())
		}
		return ev, err
	})
	return out, err
}

// AddNote puts a note on the timeline; notes are allowed in every status,
// so that a resolved incident can still collect findings.
// A lesson is a note tagged for the postmortem's lessons and contributing
// factors.
func (a *App) AddNote(ctx context.Context, actor string, inc *incident.Incident, text string, lesson bool) (incident.Event, error) {
	text, err := incident.CleanText("note", text, incident.MaxTextRunes, true)
	if err != nil {
		return incident.Event{}, err
	}
	ev := incident.NewEvent(a.now(), actor, incident.EventNote, text)
	if lesson {
		ev = ev.With(postmortem.DataLesson, "true")
	}
	ev, err = a.record(ctx, inc.ID, ev)
	if err != nil {
		return ev, err
	}
	if err := a.notifier.Publish(ctx, inc, ev, a.settings().BroadcastChannelID); err != nil {
		a.log.Warn().Err(err).Str("incident", inc.ID).Msg("publish note")
	}
	return ev, nil
}

// ChangeSeverity sets a new severity.
func (a *App) ChangeSeverity(ctx context.Context, actor string, inc *incident.Incident, sev incident.Severity) (*incident.Incident, error) {
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		return i.ChangeSeverity(now, actor, sev)
	})
	return out, err
}

// Mitigate marks the incident mitigated.
func (a *App) Mitigate(ctx context.Context, actor string, inc *incident.Incident) (*incident.Incident, error) {
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		return i.Mitigate(now, actor)
	})
	return out, err
}

// Resolve marks the incident resolved with an optional summary.
func (a *App) Resolve(ctx context.Context, actor string, inc *incident.Incident, summary string) (*incident.Incident, error) {
	summary, err := incident.CleanText("resolution summary", summary, incident.MaxSummaryRunes, false)
	if err != nil {
		return nil, err
	}
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		return i.Resolve(now, actor, summary)
	})
	if err == nil && a.postmortems != nil {
		// Leads read the postmortem as soon as it is resolved; a failure is
		// logged, and `/incident postmortem` can post it again.
		if perr := a.PublishPostmortem(ctx, actor, out); perr != nil {
			a.log.Error().Err(perr).Str("incident", inc.ID).Msg("publish postmortem on resolve")
		}
	}
	return out, err
}

// Reopen brings a resolved incident back to open.
func (a *App) Reopen(ctx context.Context, actor string, inc *incident.Incident, reason string) (*incident.Incident, error) {
	reason, err := incident.CleanText("reason", reason, incident.MaxTextRunes, false)
	if err != nil {
		return nil, err
	}
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		return i.Reopen(now, actor, reason)
	})
	return out, err
}
