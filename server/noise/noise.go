// Package noise reads the alert noise thresholds: per alert rule, open an
// incident only after N notifications within T ("3 in 10m"), or only if
// the alert is still firing T after it first fired ("for 5m"). Rules are
// written like the rota routing rules, `<condition> -> <threshold>`, and
// the first that matches an alert applies.
package noise

import (
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/routing"
)

// Bounds on a threshold.
const (
	MaxCount  = 100
	MaxWindow = 24 * time.Hour
)

// Threshold holds back the alerts that match When.
type Threshold struct {
	When routing.Rule
	// For: open only if still firing For after it first fired.
	For time.Duration
	// Count within Within: open on the Count-th notification within it.
	Count  int
	Within time.Duration
}

// String renders the threshold as written.
func (t Threshold) String() string {
	if t.For > 0 {
		return t.When.Condition() + " -> for " + incident.FormatDuration(t.For)
	}
	return t.When.Condition() + " -> " + strconv.Itoa(t.Count) + " in " + incident.FormatDuration(t.Within)
}

// Parse reads the "Alert noise thresholds" setting.
func Parse(s string) ([]Threshold, error) {
	var out []Threshold
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		cond, what, ok := strings.Cut(part, "->")
		if !ok {
			return nil, incident.Invalidf("threshold %q: write `<condition> -> for 5m` or `<condition> -> 3 in 10m`", part)
		}
		when, err := routing.ParseCondition(cond)
		if err != nil {
			return nil, incident.Invalidf("threshold %q: %s", part, incident.UserMessage(err))
		}
		t := Threshold{When: when}
		f := strings.Fields(strings.ToLower(what))
		switch {
		case len(f) == 2 && f[0] == "for":
			d, err := time.ParseDuration(f[1])
			if err != nil || d <= 0 || d > MaxWindow {
				return nil, incident.Invalidf("threshold %q: `for` takes a time up to 24h, such as 5m", part)
			}
			t.For = d
		case len(f) == 3 && f[1] == "in":
			n, err := strconv.Atoi(f[0])
			d, derr := time.ParseDuration(f[2])
			if err != nil || n < 2 || n > MaxCount || derr != nil || d <= 0 || d > MaxWindow {
				return nil, incident.Invalidf("threshold %q: write `<count> in <time>`, 2 to %d notifications within up to 24h, such as 3 in 10m", part, MaxCount)
			}
			t.Count, t.Within = n, d
		default:
			return nil, incident.Invalidf("threshold %q: write `<condition> -> for 5m` or `<condition> -> 3 in 10m`", part)
		}
		out = append(out, t)
	}
	return out, nil
}

// Match returns the first threshold whose condition in matches.
func Match(ts []Threshold, in routing.Input) (Threshold, bool) {
	for _, t := range ts {
		if _, ok := routing.Match([]routing.Rule{t.When}, in); ok {
			return t, true
		}
	}
	return Threshold{}, false
}

// Met reports whether the notifications seen (times, oldest first, the
// latest at now) meet t, and when to look again if not: for a `for`
// threshold, when the alert will have fired For; for a count, when the
// oldest notification leaves the window (nothing to do then but forget).
func (t Threshold) Met(first time.Time, seen []time.Time, now time.Time) (bool, time.Time) {
	if t.For > 0 {
		due := first.Add(t.For)
		return !now.Before(due), due
	}
	n := 0
	for _, s := range seen {
		if now.Sub(s) < t.Within {
			n++
		}
	}
	if n >= t.Count {
		return true, time.Time{}
	}
	return false, now.Add(t.Within)
}
