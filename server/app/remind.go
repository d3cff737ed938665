package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Reminders tells an incident manager that a status update is overdue, with
// buttons to post one or snooze.
type Reminders interface {
	RemindUpdate(ctx context.Context, inc *incident.Incident, to string, overdueBy, cadence time.Duration) error
}

// Status update reminders ride on the incident's timer entry (workTimers):
// after its follow-ups, the worker sets the entry to the incident's next
// reminder (incident.NextReminder), so the tick looks at an incident only
// when a reminder can be due, instead of reading every active incident.

// remindIfDue claims the status update reminder due on inc, if any: a
// change (RemindedAt, the reminder event) whose follow-up sends it. The
// compare-and-set on the incident makes sure a retried or concurrent tick
// reminds once. It returns the incident as it now stands.
func (a *App) remindIfDue(ctx context.Context, inc *incident.Incident) (*incident.Incident, error) {
	if a.reminders == nil {
		return inc, nil
	}
	cadence := a.settings().UpdateCadence[inc.Severity]
	if _, due := inc.Clone().RemindUpdate(a.now(), cadence); !due {
		return inc, nil // the common case, decided without a write
	}
	out, err := a.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error {
		now := a.now()
		ev, due := i.RemindUpdate(now, cadence)
		if !due {
			return errUnchanged
		}
		to := i.Roles[incident.RoleIM]
		if to == "" {
			to = i.CreatedBy // nobody is IM: the starter owns the updates
		}
		_, err := i.Owe(now, []incident.Event{ev}, incident.Step{Kind: incident.StepRemind, User: to, Value: cadence.String()})
		return err
	})
	if errors.Is(err, errUnchanged) {
		return a.store.GetIncident(ctx, inc.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("claim update reminder: %w", err)
	}
	return out, nil
}

// nextReminder is when the worker next needs to look at inc for a
// reminder; zero if never.
func (a *App) nextReminder(inc *incident.Incident) time.Time {
	if a.reminders == nil {
		return time.Time{}
	}
	return inc.NextReminder(a.settings().UpdateCadence[inc.Severity])
}

// sendReminder is the StepRemind of follow-up f: the reminder event is
// f.Events[0].
func (a *App) sendReminder(ctx context.Context, inc *incident.Incident, f incident.FollowUp, s incident.Step) error {
	if a.reminders == nil || len(f.Events) == 0 {
		return nil
	}
	overdue, _ := time.ParseDuration(f.Events[0].Data[incident.DataOverdue])
	cadence, _ := time.ParseDuration(s.Value)
	return a.reminders.RemindUpdate(ctx, inc, s.User, overdue, cadence)
}

// SnoozeOptions are the snooze periods offered on a reminder.
var SnoozeOptions = []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour}

// SnoozeReminders pauses update reminders on the incident for d.
func (a *App) SnoozeReminders(ctx context.Context, actor string, inc *incident.Incident, d time.Duration) (*incident.Incident, error) {
	out, _, err := a.change(ctx, inc.ID, func(i *incident.Incident, now time.Time) (incident.Event, error) {
		return i.SnoozeReminders(now, actor, d)
	})
	return out, err
}
