package app

import (
	"context"
	"errors"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Reminders tells an incident manager that a status update is overdue, with
// buttons to post one or snooze.
type Reminders interface {
	RemindUpdate(ctx context.Context, inc *incident.Incident, to string, overdueBy, cadence time.Duration) error
}

// remindUpdates reminds the incident manager of every active incident whose
// status update is overdue under its severity's cadence. Tick runs once per
// cluster; the compare-and-set on the incident (RemindedAt) also makes sure
// that a retried or concurrent tick reminds once.
func (a *App) remindUpdates(ctx context.Context, now time.Time) error {
	if a.reminders == nil {
		return nil
	}
	cadences := a.settings().UpdateCadence
	active, err := a.store.ListActive(ctx)
	if err != nil {
		return err
	}
	for _, inc := range active {
		cadence := cadences[inc.Severity]
		if _, due := inc.Clone().RemindUpdate(now, cadence); !due {
			continue // the common case, decided without a write
		}
		var ev incident.Event
		updated, err := a.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error {
			e, due := i.RemindUpdate(now, cadence)
			if !due {
				return errUnchanged
			}
			ev = e
			return nil
		})
		if errors.Is(err, errUnchanged) {
			continue
		}
		if err != nil {
			a.log.Error().Err(err).Str("incident", inc.ID).Msg("claim update reminder")
			continue
		}
		_, _ = a.record(ctx, inc.ID, ev)
		to := updated.Roles[incident.RoleIM]
		if to == "" {
			to = updated.CreatedBy // nobody is IM: the starter owns the updates
		}
		overdue, _ := time.ParseDuration(ev.Data[incident.DataOverdue])
		if err := a.reminders.RemindUpdate(ctx, updated, to, overdue, cadence); err != nil {
			a.log.Error().Err(err).Str("incident", inc.ID).Msg("send update reminder")
		}
	}
	return nil
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
