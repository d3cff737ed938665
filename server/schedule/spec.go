// Package schedule turns rota handoff specs into schedules (robfig/cron is
// the parser only) and runs the plugin's timed work once per cluster through
// pluginapi/cluster, never as a per-node ticker.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// parser accepts the five standard fields with an optional leading seconds
// field, descriptors such as @weekly, and a CRON_TZ=<zone> prefix.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Spec is a parsed handoff spec.
type Spec struct {
	cron.Schedule
	Text     string
	Location *time.Location
}

// Parse reads a handoff spec such as "CRON_TZ=Europe/Berlin 0 9 * * MON".
// Without a zone the spec is read in UTC, so that handoffs never depend on
// the server's local time zone.
func Parse(text string) (*Spec, error) {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return nil, incident.Invalidf("the handoff spec is empty: e.g. \"CRON_TZ=Europe/Berlin 0 9 * * MON\" (Mondays 09:00 Berlin time)")
	}
	loc := time.UTC
	full := text
	if zone, rest, ok := strings.Cut(text, " "); ok && (strings.HasPrefix(zone, "CRON_TZ=") || strings.HasPrefix(zone, "TZ=")) {
		name := zone[strings.Index(zone, "=")+1:]
		l, err := time.LoadLocation(name)
		if err != nil {
			return nil, incident.Invalidf("unknown time zone %q in the handoff spec: use an IANA name such as Europe/Berlin", name)
		}
		loc, full = l, "CRON_TZ="+name+" "+rest
	} else {
		full = "CRON_TZ=UTC " + text
	}
	s, err := parser.Parse(full)
	if err != nil {
		return nil, incident.Invalidf("cannot read the handoff spec %q (%v): use minute hour day-of-month month day-of-week, e.g. \"CRON_TZ=Europe/Berlin 0 9 * * MON\"", text, err)
	}
	probe := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if s.Next(probe).IsZero() {
		return nil, incident.Invalidf("the handoff spec %q never fires", text)
	}
	return &Spec{Schedule: s, Text: text, Location: loc}, nil
}

// String returns the spec as typed (normalised spacing).
func (s *Spec) String() string { return s.Text }

// Describe returns a short human description of the next handoffs.
func (s *Spec) Describe(now time.Time) string {
	next := s.Next(now)
	return fmt.Sprintf("%s (next: %s)", s.Text, next.In(s.Location).Format("Mon 2006-01-02 15:04 MST"))
}
