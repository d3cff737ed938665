package rota

import (
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Date formats that commands accept (see ParseWhen).
const (
	DateLayout     = "2006-01-02"
	DateTimeLayout = "2006-01-02 15:04"
)

// ParseWhen reads an instant typed in a command, in one of three formats:
//
//	2026-11-23                 midnight at the start of that day in loc
//	2026-11-23 14:30           that wall-clock time in loc (24-hour clock)
//	2026-11-23T14:30:00+01:00  RFC 3339, with its own offset ("Z" for UTC)
//
// A nil loc means UTC. A local time that a daylight-saving change skips is
// moved forward by the length of the gap (02:30 becomes 03:30 on a
// spring-forward night); one it repeats is read as the first occurrence.
// Other input gives a KindInvalid error that names the accepted formats.
func ParseWhen(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	s = strings.Join(strings.Fields(s), " ")
	for _, layout := range []string{DateLayout, DateTimeLayout} {
		// Parse the wall clock as UTC, then place it in loc: time.Date
		// leaves the instant unspecified where loc skips or repeats it.
		if w, err := time.Parse(layout, s); err == nil {
			return inLocation(w, loc), nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, incident.Invalidf("cannot read %q as a date: use 2026-11-23 (midnight), 2026-11-23 14:30 (%s time) or RFC 3339 such as 2026-11-23T14:30:00Z",
		s, loc)
}

// inLocation returns the instant at which the wall clock in loc reads w's
// date and time of day (w's own location is ignored). A wall time that a
// daylight-saving change repeats gives the first instant; one it skips is
// moved forward by the gap, i.e. read with the offset in effect before the
// jump.
func inLocation(w time.Time, loc *time.Location) time.Time {
	y, mo, d := w.Date()
	h, mi, sec := w.Clock()
	nominal := time.Date(y, mo, d, h, mi, sec, w.Nanosecond(), loc)
	reads := func(c time.Time) bool {
		cy, cmo, cd := c.Date()
		ch, cmi, cs := c.Clock()
		return cy == y && cmo == mo && cd == d && ch == h && cmi == mi && cs == sec
	}
	// Offsets change by at most a few hours, in steps of 15 minutes or more:
	// scanning ±3 hours in 15-minute steps, earliest first, finds every
	// instant whose wall clock reads w.
	for i := -12; i <= 12; i++ {
		if c := nominal.Add(time.Duration(i) * 15 * time.Minute).In(loc); reads(c) {
			return c
		}
	}
	_, off := nominal.Add(-3 * time.Hour).In(loc).Zone()
	return time.Date(y, mo, d, h, mi, sec, w.Nanosecond(), time.FixedZone("", off)).In(loc)
}
