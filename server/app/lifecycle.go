package app

import (
	"context"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/postmortem"
)

// change applies one validated transition to the stored incident with its
// follow-up: the event on the timeline, the card re-rendered, the event
// posted where it belongs, the release freeze brought up to date, and any
// extra steps. Concurrent changes are serialised by the store's
// compare-and-set; a transition that became invalid meanwhile (two people
// resolving at once) fails with the domain's conflict error. The event
// returned has no Seq yet: the worker appends it.
func (a *App) change(ctx context.Context, id string, apply func(*incident.Incident, time.Time) (incident.Event, error), extra ...incident.Step) (*incident.Incident, incident.Event, error) {
	inc, f, err := a.commit(ctx, id, func(i *incident.Incident, now time.Time) ([]incident.Event, []incident.Step, error) {
		ev, err := apply(i, now)
		if err != nil {
			return nil, nil, err
		}
		return []incident.Event{ev}, append(changeSteps(i, ev), extra...), nil
	})
	if err != nil {
		return nil, incident.Event{}, err
	}
	return inc, f.Events[0], nil
}

// changeSteps are the steps every change owes after its event ev: the
// event posted where it belongs (first: people wait for it), the card
// re-rendered, the release freeze brought up to date, and the checklist
// when a role changed hands.
func changeSteps(i *incident.Incident, ev incident.Event) []incident.Step {
	steps := []incident.Step{{Kind: incident.StepPublish, Event: 0}, {Kind: incident.StepCard}}
	if freezeRelevant(ev.Type) {
		steps = append(steps, incident.Step{Kind: incident.StepFreeze})
	}
	if i.Runbook != nil && (ev.Type == incident.EventRoleAssigned || ev.Type == incident.EventHandoverDone) {
		// The checklist names the new holder; one who holds steps is
		// mentioned in its thread.
		steps = append(steps, incident.Step{Kind: incident.StepChecklist})
	}
	return steps
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
			ev = ev.With(incident.DataOverdue, incident.Elapsed(due, now).String())
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
	_, f, err := a.commit(ctx, inc.ID, func(_ *incident.Incident, now time.Time) ([]incident.Event, []incident.Step, error) {
		ev := incident.NewEvent(now, actor, incident.EventNote, text)
		if lesson {
			ev = ev.With(postmortem.DataLesson, "true")
		}
		return []incident.Event{ev}, []incident.Step{{Kind: incident.StepPublish, Event: 0}}, nil
	})
	if err != nil {
		return incident.Event{}, err
	}
	return f.Events[0], nil
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
	// Leads read the postmortem as soon as it is resolved: it is the last
	// step, after the resolution and the pages it closed are on the
	// timeline and in the summary.
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		return i.Resolve(now, actor, summary)
	}, incident.Step{Kind: incident.StepClosePages}, incident.Step{Kind: incident.StepSummary}, incident.Step{Kind: incident.StepPostmortem, User: actor},
		incident.Step{Kind: incident.StepForget})
	if err != nil {
		return nil, err
	}
	// Nobody is paged for a resolved incident a moment longer: its pages
	// close (their buttons go) before the answer. Their timeline events
	// follow the resolution's (StepClosePages), which also closes what a
	// failure here left open.
	if err := a.closeIncidentPages(ctx, out, whyResolved, false); err != nil {
		a.log.Warn().Err(err).Str("incident", out.ID).Msg("close the pages of a resolved incident; its follow-up tries again")
	}
	return out, nil
}

// whyResolved is why a resolved incident's pages close.
const whyResolved = "the incident was resolved"

// Reopen brings a resolved incident back to open.
func (a *App) Reopen(ctx context.Context, actor string, inc *incident.Incident, reason string) (*incident.Incident, error) {
	reason, err := incident.CleanText("reason", reason, incident.MaxTextRunes, false)
	if err != nil {
		return nil, err
	}
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		return i.Reopen(now, actor, reason)
	}, incident.Step{Kind: incident.StepSummary})
	return out, err
}
