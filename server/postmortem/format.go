package postmortem

import (
	"fmt"
	"strings"
	"time"
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

// dur formats d to the second from its largest unit down to its smallest
// non-zero one: "45s", "12m 30s", "2h 0m 5s", "1d 3h".
func dur(d time.Duration) string {
	d = d.Round(time.Second)
	if d == 0 {
		return "0s"
	}
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	parts := []struct {
		n    time.Duration
		unit string
	}{{d / (24 * time.Hour), "d"}, {d / time.Hour % 24, "h"}, {d / time.Minute % 60, "m"}, {d / time.Second % 60, "s"}}
	first, last := -1, -1
	for i, p := range parts {
		if p.n != 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	var out []string
	for _, p := range parts[first : last+1] {
		out = append(out, fmt.Sprintf("%d%s", p.n, p.unit))
	}
	return sign + strings.Join(out, " ")
}

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
