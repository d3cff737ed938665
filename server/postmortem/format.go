package postmortem

import (
	"fmt"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// stampLayout is how tables show times (always UTC).
const stampLayout = "2006-01-02 15:04:05"

// stamp formats t in UTC for a table, "–" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format(stampLayout)
}

// when formats t in UTC and, if loc is another zone, in loc too:
// "2026-03-12 09:00:00 UTC (2026-03-12 10:00:00 CET)".
func when(t time.Time, loc *time.Location) string {
	s := t.UTC().Format(stampLayout + " UTC")
	if loc != nil && loc != time.UTC && loc.String() != "UTC" {
		s += " (" + t.In(loc).Format(stampLayout+" MST") + ")"
	}
	return s
}

// dur formats d the one way every duration is shown (see
// incident.FormatDuration): "45s", "12m 30s", "2h 0m 5s", "1d 3h".
func dur(d time.Duration) string { return incident.FormatDuration(d) }

// plural returns "1 page", "2 pages"; many "" adds an "s" to one.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	if many == "" {
		many = one + "s"
	}
	return fmt.Sprintf("%d %s", n, many)
}

// times returns "once", "twice" or "N times".
func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}
