// Package routing decides which rota staffs a new incident when none is
// named at its start: rules written like the runbook rules, the first
// that matches wins.
package routing

import (
	"regexp"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Rule sends the new incidents that match it to a rota.
type Rule struct {
	// Field is what the rule looks at: "team" or "channel" (by name),
	// "label" (Key is the label's name), "severity" or "title" (a word or
	// phrase in it).
	Field, Key, Value string
	Rota              string
}

// String renders the rule as it is written in the settings.
func (r Rule) String() string {
	var cond string
	switch r.Field {
	case "team":
		cond = "team=" + r.Value
	case "channel":
		cond = "channel=~" + r.Value
	case "label":
		cond = "label:" + r.Key + "=" + r.Value
	case "title":
		cond = "title:" + r.Value
	default:
		cond = r.Value
	}
	return cond + " -> " + r.Rota
}

var rotaNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ValidRotaName reports whether name may name a rota: 1 to 32 lower-case
// letters, digits and dashes.
func ValidRotaName(name string) bool { return rotaNameRe.MatchString(name) }

// Parse reads the "Rota routing rules" setting: rules separated by ';' or
// new lines, each `<condition> -> <rota>`. A condition is the team's name
// (`team=payments`), the channel the incident is started from
// (`channel=~ops-eu`), an alert label (`alertname=PaymentsDown`, or
// `label:service=web` for any label, including ones named team or
// channel), a severity (`S1`) or a title keyword (`title:database`).
func Parse(s string) ([]Rule, error) {
	var out []Rule
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		cond, rota, ok := strings.Cut(part, "->")
		if !ok {
			return nil, incident.Invalidf("rota rule %q: write `<condition> -> <rota>`, e.g. `team=payments -> payments`", part)
		}
		cond, rota = strings.TrimSpace(cond), strings.ToLower(strings.TrimSpace(rota))
		if !ValidRotaName(rota) {
			return nil, incident.Invalidf("rota rule %q: %q is not a rota's name (lower-case letters, digits and dashes)", part, rota)
		}
		r, err := ParseCondition(cond)
		if err != nil {
			return nil, incident.Invalidf("rota rule %q: %s", part, incident.UserMessage(err))
		}
		r.Rota = rota
		out = append(out, r)
	}
	return out, nil
}

// ParseCondition reads one condition (see Parse) into a Rule without a
// rota: the maintenance windows and noise thresholds match alerts with
// the same conditions.
func ParseCondition(cond string) (Rule, error) {
	cond = strings.TrimSpace(cond)
	var r Rule
	lower := strings.ToLower(cond)
	switch {
	case strings.HasPrefix(lower, "title:"):
		r.Field, r.Value = "title", strings.Join(strings.Fields(lower[len("title:"):]), " ")
	case strings.HasPrefix(lower, "label:"):
		k, v, _ := strings.Cut(cond[len("label:"):], "=")
		r.Field, r.Key, r.Value = "label", strings.TrimSpace(k), strings.TrimSpace(v)
		if r.Key == "" {
			r.Value = ""
		}
	case strings.HasPrefix(lower, "team="):
		r.Field, r.Value = "team", strings.TrimPrefix(strings.TrimSpace(lower[len("team="):]), "~")
	case strings.HasPrefix(lower, "channel="):
		r.Field, r.Value = "channel", strings.TrimPrefix(strings.TrimSpace(lower[len("channel="):]), "~")
	case strings.Contains(cond, "="):
		k, v, _ := strings.Cut(cond, "=")
		r.Field, r.Key, r.Value = "label", strings.TrimSpace(k), strings.TrimSpace(v)
		if strings.ContainsAny(r.Key, " \t") {
			r.Value = ""
		}
	default:
		sev, err := incident.ParseSeverity(cond)
		if err != nil {
			return Rule{}, incident.Invalidf("the condition is team=<name>, channel=~<name>, <label>=<value>, label:<name>=<value>, a severity (S1) or title:<keyword>")
		}
		r.Field, r.Value = "severity", sev.String()
	}
	if r.Value == "" {
		return Rule{}, incident.Invalidf("the condition has no value")
	}
	return r, nil
}

// Condition renders the rule's condition as written.
func (r Rule) Condition() string {
	s := r.String()
	return s[:len(s)-len(" -> "+r.Rota)]
}

// Input is what the rules look at of a new incident.
type Input struct {
	Team, Channel string // names
	Severity      incident.Severity
	Title         string
	Labels        map[string]string // of the alert that opens it
}

// NeedsNames reports whether any rule looks at the team's or the
// channel's name, which callers then look up.
func NeedsNames(rules []Rule) bool {
	for _, r := range rules {
		if r.Field == "team" || r.Field == "channel" {
			return true
		}
	}
	return false
}

// Match returns the first rule that in matches.
func Match(rules []Rule, in Input) (Rule, bool) {
	words := " " + strings.Join(strings.FieldsFunc(strings.ToLower(in.Title), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 || r == '-' || r == '_')
	}), " ") + " "
	for _, r := range rules {
		var ok bool
		switch r.Field {
		case "team":
			ok = in.Team != "" && strings.EqualFold(in.Team, r.Value)
		case "channel":
			ok = in.Channel != "" && strings.EqualFold(in.Channel, r.Value)
		case "label":
			v, has := in.Labels[r.Key]
			ok = has && v == r.Value
		case "severity":
			ok = in.Severity.Valid() && in.Severity.String() == r.Value
		case "title":
			ok = strings.Contains(words, " "+r.Value+" ")
		}
		if ok {
			return r, true
		}
	}
	return Rule{}, false
}
