package incident

import "time"

// UpdateDue returns when the next status update is owed under cadence (0:
// never, the zero time). It counts from the last update, the start or the
// last reopen, whichever is latest (a resolved period owes no updates), and
// a snooze pushes it later.
func (inc *Incident) UpdateDue(cadence time.Duration) time.Time {
	if cadence <= 0 || !inc.Status.Active() {
		return time.Time{}
	}
	base := inc.CreatedAt
	for _, t := range []time.Time{inc.LastUpdateAt, inc.ReopenedAt} {
		if t.After(base) {
			base = t
		}
	}
	due := base.Add(cadence)
	if inc.SnoozedUntil.After(due) {
		due = inc.SnoozedUntil
	}
	return due
}

// RemindUpdate records that the incident manager is reminded of an overdue
// update at now, if a reminder is due: the update is overdue, and no
// reminder went out since it fell due (or, while it stays overdue, within
// the last cadence). ok is false when no reminder is due.
func (inc *Incident) RemindUpdate(now time.Time, cadence time.Duration) (ev Event, ok bool) {
	due := inc.UpdateDue(cadence)
	if due.IsZero() || now.Before(due) {
		return Event{}, false
	}
	if !inc.RemindedAt.Before(due) && now.Before(inc.RemindedAt.Add(cadence)) {
		return Event{}, false
	}
	now = now.UTC()
	inc.RemindedAt = now
	overdue := Elapsed(due, now)
	return NewEvent(now, ActorSystem, EventUpdateReminder, "status update overdue by "+FormatDuration(overdue)).
		With(DataOverdue, overdue.String()), true
}

// SnoozeReminders pauses update reminders for d.
func (inc *Incident) SnoozeReminders(now time.Time, actor string, d time.Duration) (Event, error) {
	if !inc.Status.Active() {
		return Event{}, Conflictf("incident %s is resolved; it needs no more updates", inc.ShortRef())
	}
	if d <= 0 || d > 24*time.Hour {
		return Event{}, Invalidf("snooze for between a minute and a day")
	}
	now = now.UTC()
	inc.SnoozedUntil = now.Add(d)
	return NewEvent(now, actor, EventUpdateSnoozed, "reminders snoozed for "+FormatDuration(d)).
		With("until", inc.SnoozedUntil.Format(time.RFC3339)), nil
}

// NextReminder returns when a reminder of an overdue update can next be
// due under cadence (the zero time: never): when the update falls due, or,
// once reminded while it stays overdue, a cadence after the last reminder.
func (inc *Incident) NextReminder(cadence time.Duration) time.Time {
	due := inc.UpdateDue(cadence)
	if due.IsZero() || inc.RemindedAt.Before(due) {
		return due
	}
	return inc.RemindedAt.Add(cadence)
}
