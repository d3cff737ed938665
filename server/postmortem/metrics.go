package postmortem

import (
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Metrics are the figures a postmortem reports, computed from an incident
// and its timeline. Durations are wall-clock time unless a field says
// otherwise; a zero time means "did not happen". Every instant is taken as
// it is shown, to the second (incident.AsShown), so each duration is the
// difference of the stamps the postmortem shows beside it.
type Metrics struct {
	// Start is when the incident started. End is its final resolution or,
	// while it is still open, the time it was measured at.
	Start, End time.Time

	// Pages counts pages sent (EventPaged), Renotifications and Escalations
	// the later notifications of those pages, PagesClosed the pages stopped
	// without acknowledgement.
	Pages, Renotifications, Escalations, PagesClosed int
	// FirstPageAt is the first page, FirstAckAt the first acknowledgement
	// of any page, leaving out pages for a hotfix (the release manager's,
	// marked with incident.DataHotfix): those measure the release, not the
	// response to the incident.
	FirstPageAt, FirstAckAt time.Time
	// Acknowledged reports whether any page was acknowledged; TimeToAck is
	// then FirstAckAt - FirstPageAt (0 when there was no page).
	Acknowledged bool
	TimeToAck    time.Duration

	// MitigatedAt is when the impact first stopped: the first mitigation, or
	// the first resolution if that came first (MitigatedByResolve).
	// TimeToMitigate is MitigatedAt - Start.
	MitigatedAt        time.Time
	MitigatedByResolve bool
	TimeToMitigate     time.Duration

	// Resolved reports whether the incident is resolved now. ResolvedAt is
	// then its final resolution and TimeToResolve ResolvedAt - Start, which
	// includes any time it spent resolved before a reopen (Reopens > 0).
	// FirstResolvedAt is the first resolution, whether or not it lasted.
	Resolved        bool
	ResolvedAt      time.Time
	TimeToResolve   time.Duration
	FirstResolvedAt time.Time
	Reopens         int
	// TimeOpen is the time from Start to End during which the incident was
	// active (open or mitigated), leaving out the periods it was resolved.
	TimeOpen time.Duration

	// Cadence is the status update target (0: none). Updates counts status
	// updates; LateUpdates those posted after they were due, by Overdue
	// time recorded on them (incident.DataOverdue).
	Cadence     time.Duration
	Updates     int
	LateUpdates int
	// LongestGap is the longest stretch of active time without a status
	// update: from the start to the first update, between updates, and from
	// the last update to End. Resolved periods do not count.
	LongestGap time.Duration
	// Overdue is the total time status updates were overdue: what the late
	// updates recorded, plus, when the last update (or the start) was
	// followed by none within the cadence, the active time from when the
	// next one fell due (snoozes respected) to End.
	Overdue time.Duration
	// Reminders counts the overdue-update reminders the bot sent.
	Reminders int
}

// Compute measures a finished incident: like ComputeAt, with an incident
// still in progress measured up to its latest event.
func Compute(inc *incident.Incident, events []incident.Event, cadence time.Duration) Metrics {
	return ComputeAt(inc, events, cadence, time.Time{})
}

// ComputeAt computes the metrics of inc from its timeline events (in any
// order; they are taken by time, ties in the given order) under the status
// update cadence. now ends the periods still running while the incident is
// active; a zero now means its latest event (or its last update time). inc
// may be nil: the timeline then decides whether the incident is resolved.
func ComputeAt(inc *incident.Incident, events []incident.Event, cadence time.Duration, now time.Time) Metrics {
	evs, now := asShown(ordered(events)), incident.AsShown(now)
	m := Metrics{Cadence: cadence, Start: incident.AsShown(startOf(inc, evs))}
	var (
		firstMitigated, firstResolved, lastResolve time.Time
		open                                       = true
		openSince, resolvedSince                   = m.Start, time.Time{}
		resolvedSpans                              []span
		gap                                        time.Duration
		gapFrom, lastUpdate, snoozedUntil          = m.Start, m.Start, time.Time{}
	)
	resolve := func(at time.Time) {
		if firstResolved.IsZero() {
			firstResolved = at
		}
		lastResolve = at
		if open {
			m.TimeOpen += at.Sub(openSince)
			gap += at.Sub(gapFrom)
			open, resolvedSince = false, at
		}
	}
	for _, e := range evs {
		switch e.Type {
		case incident.EventPaged:
			m.Pages++
			if m.FirstPageAt.IsZero() && e.Data[incident.DataHotfix] == "" {
				m.FirstPageAt = e.At
			}
		case incident.EventPageRenotified:
			m.Renotifications++
		case incident.EventPageEscalated:
			m.Escalations++
		case incident.EventPageClosed:
			m.PagesClosed++
		case incident.EventPageAcknowledged:
			if m.FirstAckAt.IsZero() && e.Data[incident.DataHotfix] == "" {
				m.FirstAckAt = e.At
			}
		case incident.EventMitigated:
			if firstMitigated.IsZero() {
				firstMitigated = e.At
			}
		case incident.EventResolved:
			resolve(e.At)
		case incident.EventReopened:
			m.Reopens++
			if !open {
				resolvedSpans = append(resolvedSpans, span{resolvedSince, e.At})
				open, openSince, gapFrom = true, e.At, e.At
			}
		case incident.EventStatusUpdate:
			m.Updates++
			if open {
				gap += e.At.Sub(gapFrom)
			}
			m.LongestGap = max(m.LongestGap, gap)
			gap, gapFrom, lastUpdate = 0, e.At, e.At
			if d, err := time.ParseDuration(e.Data[incident.DataOverdue]); err == nil && d > 0 {
				m.LateUpdates++
				m.Overdue += d
			}
		case incident.EventUpdateReminder:
			m.Reminders++
		case incident.EventUpdateSnoozed:
			if t, err := time.Parse(time.RFC3339, e.Data["until"]); err == nil {
				snoozedUntil = t
			}
		}
	}

	if inc != nil {
		m.Resolved = inc.Status == incident.StatusResolved
	} else {
		m.Resolved = !open
	}
	if m.Resolved && open {
		// The record says resolved but the timeline has not caught up.
		at := incident.AsShown(inc.ResolvedAt)
		if at.IsZero() {
			at = latest(inc, evs, m.Start)
		}
		resolve(at)
	}
	if m.Resolved {
		m.End, m.ResolvedAt = lastResolve, lastResolve
		m.TimeToResolve = lastResolve.Sub(m.Start)
	} else {
		m.End = now
		if m.End.IsZero() {
			m.End = latest(inc, evs, m.Start)
		}
		if open {
			m.TimeOpen += nonNegative(m.End.Sub(openSince))
			gap += nonNegative(m.End.Sub(gapFrom))
		}
	}
	m.LongestGap = max(m.LongestGap, gap)

	if cadence > 0 {
		due := lastUpdate.Add(cadence)
		if snoozedUntil.After(due) {
			due = snoozedUntil
		}
		m.Overdue += activeBetween(due, m.End, resolvedSpans)
	}

	switch {
	case !firstResolved.IsZero() && (firstMitigated.IsZero() || firstResolved.Before(firstMitigated)):
		m.MitigatedAt, m.MitigatedByResolve = firstResolved, true
	case !firstMitigated.IsZero():
		m.MitigatedAt = firstMitigated
	case inc != nil && !inc.MitigatedAt.IsZero():
		m.MitigatedAt = incident.AsShown(inc.MitigatedAt)
	}
	if !m.MitigatedAt.IsZero() {
		m.TimeToMitigate = nonNegative(m.MitigatedAt.Sub(m.Start))
	}

	m.FirstResolvedAt = firstResolved
	m.Acknowledged = !m.FirstAckAt.IsZero()
	if m.Acknowledged && !m.FirstPageAt.IsZero() {
		m.TimeToAck = nonNegative(m.FirstAckAt.Sub(m.FirstPageAt))
	}
	return m
}

// span is a period [from, to).
type span struct{ from, to time.Time }

// activeBetween returns the time from a to b outside the resolved spans (0
// if b is not after a).
func activeBetween(a, b time.Time, resolved []span) time.Duration {
	if !b.After(a) {
		return 0
	}
	d := b.Sub(a)
	for _, s := range resolved {
		from, to := s.from, s.to
		if from.Before(a) {
			from = a
		}
		if to.After(b) {
			to = b
		}
		if to.After(from) {
			d -= to.Sub(from)
		}
	}
	return d
}

// ordered returns events sorted by time, stably; the input is copied only
// if it is out of order.
func ordered(events []incident.Event) []incident.Event {
	byTime := func(a, b incident.Event) int { return a.At.Compare(b.At) }
	if slices.IsSortedFunc(events, byTime) {
		return events
	}
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, byTime)
	return evs
}

// asShown returns the events with their times as shown, to the second
// (incident.AsShown); the input is copied only if a time has a fraction of
// a second. Taken in order, the events stay in order.
func asShown(events []incident.Event) []incident.Event {
	i := slices.IndexFunc(events, func(e incident.Event) bool { return !e.At.Equal(incident.AsShown(e.At)) })
	if i < 0 {
		return events
	}
	evs := slices.Clone(events)
	for j := i; j < len(evs); j++ {
		evs[j].At = incident.AsShown(evs[j].At)
	}
	return evs
}

// startOf returns when the incident started: its creation time, else its
// started event, else its first event.
func startOf(inc *incident.Incident, evs []incident.Event) time.Time {
	if inc != nil && !inc.CreatedAt.IsZero() {
		return inc.CreatedAt.UTC()
	}
	for _, e := range evs {
		if e.Type == incident.EventStarted {
			return e.At
		}
	}
	if len(evs) > 0 {
		return evs[0].At
	}
	return time.Time{}
}

// latest returns the latest moment the record knows of: its last event or
// last update, and never before start.
func latest(inc *incident.Incident, evs []incident.Event, start time.Time) time.Time {
	t := start
	if len(evs) > 0 && evs[len(evs)-1].At.After(t) {
		t = evs[len(evs)-1].At
	}
	if inc != nil && inc.UpdatedAt.After(t) {
		t = incident.AsShown(inc.UpdatedAt)
	}
	return t
}

func nonNegative(d time.Duration) time.Duration { return max(d, 0) }
