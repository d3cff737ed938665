package rota

import (
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Schedule computes handoff instants. robfig/cron's cron.Schedule satisfies
// it.
//
// Next returns the first handoff strictly after t, or the zero time if there
// is none. Every week boundary in this package comes from Next, never from
// adding 7×24 hours, so weeks are exact across daylight-saving changes and
// in any time zone.
//
// robfig/cron v3 (checked against v3.0.1) handles local times that a
// daylight-saving change skips or repeats literally: a handoff at a skipped
// time (02:30 on the spring-forward Sunday in Berlin) does not fire that
// week, so the week before lasts two; one at a repeated time (02:30 on the
// autumn Sunday in Berlin) fires twice, an hour apart. WeekOf is exact for
// such schedules too; CheckSchedule rejects them.
type Schedule interface {
	Next(t time.Time) time.Time
}

// Bounds on the length of a rota week that CheckSchedule enforces. The
// lower one allows a daily rota over a daylight-saving change (23 hours).
const (
	MinWeek = 23 * time.Hour
	MaxWeek = 8 * 24 * time.Hour
)

// next is s.Next that also reports whether there is a next handoff. A
// schedule that returns the zero time, or a time not after t, has no more
// handoffs: treating that as the end keeps every loop here finite.
func next(s Schedule, t time.Time) (time.Time, bool) {
	n := s.Next(t)
	if n.IsZero() || !n.After(t) {
		return time.Time{}, false
	}
	return n, true
}

// WeekOf returns the index of the week that contains t and its bounds
// [start, end). Week 0 starts at anchor; week k > 0 starts at the k-th
// handoff after anchor; week -1 starts at the last handoff before anchor,
// and so on backwards. The anchor is normally a handoff instant; if it is
// not, it still bounds weeks 0 and -1.
//
// A zero end means the schedule has no later handoff: the week never ends.
// A zero start (only for t before anchor) means the schedule has no
// handoff at or before t that could be found: the week has no known start.
//
// The cost is one call of s.Next per week between anchor and t, plus a
// search back by doubling steps when t is before anchor (a Schedule has no
// Prev). Prune and SetHandoff keep anchors recent.
func WeekOf(s Schedule, anchor, t time.Time) (index int, start, end time.Time) {
	if !t.Before(anchor) {
		start = anchor
		for {
			n, ok := next(s, start)
			if !ok {
				return index, start, time.Time{}
			}
			if n.After(t) {
				return index, start, n
			}
			start = n
			index++
		}
	}
	// t is before anchor: find the last handoff at or before t, then count
	// the handoffs between it and anchor.
	start, found := lastHandoff(s, t)
	from := t
	if found {
		from = start
	}
	index, end = -1, anchor
	h, ok := next(s, from)
	if ok && h.Before(anchor) {
		end = h
	}
	for ok && h.Before(anchor) {
		index--
		h, ok = next(s, h)
	}
	return index, start, end
}

// lastHandoff returns the last handoff at or before t. It probes back from
// t by a week, then by doubling steps, until Next from the probe lands at or
// before t; then it walks forward with Next to the last such handoff. Both
// ends come from Next, so the result is exact whatever the offsets in
// between. It gives up after some 600 years.
func lastHandoff(s Schedule, t time.Time) (time.Time, bool) {
	step := 7 * 24 * time.Hour
	for range 15 {
		h, ok := next(s, t.Add(-step))
		if ok && !h.After(t) {
			for {
				n, ok := next(s, h)
				if !ok || n.After(t) {
					return h, true
				}
				h = n
			}
		}
		step *= 2
	}
	return time.Time{}, false
}

// CheckSchedule checks that s makes a weekly rota for the year after from:
// it must hand off within MaxWeek of from, and every week must last between
// MinWeek and MaxWeek. Adapters call it when an admin sets a handoff spec.
//
// It catches typos ("0 * * * MON" hands off every hour on Mondays) and the
// daylight-saving traps of robfig/cron described at Schedule: a handoff at a
// skipped local time makes a two-week week, one at a repeated local time a
// one-hour week. It returns a KindInvalid error naming the instants.
func CheckSchedule(s Schedule, from time.Time) error {
	first, ok := next(s, from)
	if !ok || first.Sub(from) > MaxWeek {
		return incident.Invalidf("the handoff schedule must hand over at least once a week; it does not between %s and %s",
			stamp(from), stamp(from.Add(MaxWeek)))
	}
	horizon := from.AddDate(1, 0, 0)
	for h := first; h.Before(horizon); {
		n, ok := next(s, h)
		if !ok {
			return incident.Invalidf("the handoff schedule stops after %s; a rota needs a handoff every week", stamp(h))
		}
		switch gap := n.Sub(h); {
		case gap < MinWeek:
			return incident.Invalidf("handoffs at %s and %s are only %s apart; a rota week lasts at least a day. "+
				"A handoff at a local time that a daylight-saving change repeats fires twice: pick a time outside the change (e.g. not 02:00-03:00)",
				stamp(h), stamp(n), incident.FormatDuration(gap))
		case gap > MaxWeek:
			return incident.Invalidf("no handoff between %s and %s (%s); a rota week lasts at most 8 days. "+
				"A handoff at a local time that a daylight-saving change skips does not fire that week: pick a time outside the change (e.g. not 02:00-03:00)",
				stamp(h), stamp(n), incident.FormatDuration(gap))
		}
		h = n
	}
	return nil
}

// stamp formats an instant for messages, in its own location.
func stamp(t time.Time) string { return t.Format("2006-01-02 15:04 MST") }
