package rota

import (
	"fmt"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// ParseTimeouts reads per-severity waits such as "S1=5m, S2=10m, S4=off"
// (some severities may be left out: they keep the settings'); a wait
// below min is refused.
func ParseTimeouts(s string, min time.Duration) (map[incident.Severity]time.Duration, error) {
	out := map[incident.Severity]time.Duration{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		k, v, ok := strings.Cut(part, "=")
		sev, err := incident.ParseSeverity(k)
		if !ok || err != nil {
			return nil, incident.Invalidf("%q is not like S1=5m", part)
		}
		if _, dup := out[sev]; dup {
			return nil, incident.Invalidf("%s is given twice", sev)
		}
		v = strings.ToLower(strings.TrimSpace(v))
		if v == "off" || v == "0" {
			out[sev] = 0
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, incident.Invalidf("%q is not a wait such as 90s, 5m or 1h (or off)", v)
		}
		if d < min {
			return nil, incident.Invalidf("%s is too short; use at least %s (or off)", v, incident.FormatDuration(min))
		}
		out[sev] = d
	}
	if len(out) == 0 {
		return nil, incident.Invalidf("give waits such as S1=5m S2=10m (or off)")
	}
	return out, nil
}

// Describe renders the policy for people, users as <@id>.
func (e Escalation) Describe() string {
	var parts []string
	if len(e.Timeouts) > 0 {
		var ts []string
		for _, sev := range incident.Severities {
			if d, ok := e.Timeouts[sev]; ok {
				w := "off"
				if d > 0 {
					w = incident.FormatDuration(d)
				}
				ts = append(ts, fmt.Sprintf("%s %s", sev, w))
			}
		}
		parts = append(parts, "waits "+strings.Join(ts, ", "))
	} else {
		parts = append(parts, "the settings' waits")
	}
	switch e.Repeat {
	case 0:
		parts = append(parts, "the chain once")
	case 1:
		parts = append(parts, "the chain twice")
	default:
		parts = append(parts, fmt.Sprintf("the chain %d times", e.Repeat+1))
	}
	switch e.Last {
	case LastAll:
		parts = append(parts, "then every member of the rota")
	case LastPeople:
		var refs []string
		for _, u := range e.People {
			refs = append(refs, UserRef(u))
		}
		parts = append(parts, "then "+strings.Join(refs, " "))
	default:
		parts = append(parts, "no last step")
	}
	switch {
	case e.OutsideOff:
		parts = append(parts, "pages stay in the chat")
	case e.OutsideAfter > 0:
		parts = append(parts, "by email and webhook too after "+incident.FormatDuration(e.OutsideAfter)+" without an acknowledgement")
	default:
		parts = append(parts, "by email and webhook too at once (for who registered them)")
	}
	return strings.Join(parts, "; ")
}
