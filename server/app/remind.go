package app

import (
	"context"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Reminders tells an incident manager that a status update is overdue, with
// buttons to post one or snooze.
type Reminders interface {
	RemindUpdate(ctx context.Context, inc *incident.Incident, to string, overdueBy, cadence time.Duration) error
}

// Status update reminders ride on the incident's worker (kind "inc"): it
// reports the incident's next reminder as its next look, so that the tick
// looks at an incident only when a reminder can be due, instead of
// reading every active incident.

// reminderDue reports whether a status update reminder is due on inc at
// now: the common case, decided without a write.
func (a *App) reminderDue(inc *incident.Incident, now time.Time) bool {
	if a.reminders == nil {
		return false
	}
	_, due := inc.Clone().RemindUpdate(now, a.settings().UpdateCadence[inc.Severity])
	return due
}

// oweReminder claims the reminder due on i at now, if any, inside the
// worker's take of the lease: the reminder event and its StepRemind
// become a follow-up in the same compare-and-set, so that a retried or
// concurrent run reminds once.
func (a *App) oweReminder(i *incident.Incident, now time.Time) {
	if a.reminders == nil {
		return
	}
	cadence := a.settings().UpdateCadence[i.Severity]
	ev, due := i.RemindUpdate(now, cadence)
	if !due {
		return
	}
	to := i.Roles[incident.RoleIM]
	if to == "" {
		to = i.CreatedBy // nobody is IM: the starter owns the updates
	}
	i.Owe(now, []incident.Event{ev}, incident.Step{Kind: incident.StepRemind, User: to, Value: cadence.String()})
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
