package runbook

import (
	"fmt"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Rule attaches a runbook to new incidents that match it. Exactly one of
// Severity, Label or Keyword is set.
type Rule struct {
	Severity incident.Severity
	Label    string // alert label name; Value is its value
	Value    string
	Keyword  string // a word in the title, lower case
	Runbook  string
}

// String renders the rule as it is written in the settings.
func (r Rule) String() string {
	switch {
	case r.Severity != 0:
		return r.Severity.String() + " -> " + r.Runbook
	case r.Label != "":
		return r.Label + "=" + r.Value + " -> " + r.Runbook
	default:
		return "title:" + r.Keyword + " -> " + r.Runbook
	}
}

// ParseRules reads the "Runbook rules" setting: rules separated by ';' or
// new lines, each `<condition> -> <runbook>`, where the condition is a
// severity (`S1`), an alert label value (`alertname=BuildServerDown`) or a
// title keyword (`title:database`, case-insensitive, a whole word or
// phrase). The first rule that matches wins.
func ParseRules(s string) ([]Rule, error) {
	var out []Rule
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		cond, name, ok := strings.Cut(part, "->")
		if !ok {
			return nil, incident.Invalidf("runbook rule %q: write `<condition> -> <runbook>`, e.g. `alertname=BuildServerDown -> build-server`", part)
		}
		cond = strings.TrimSpace(cond)
		name, err := CleanName(name)
		if err != nil {
			return nil, fmt.Errorf("runbook rule %q: %w", part, err)
		}
		r := Rule{Runbook: name}
		switch {
		case strings.HasPrefix(strings.ToLower(cond), "title:"):
			r.Keyword = strings.ToLower(collapse(cond[len("title:"):]))
			if r.Keyword == "" {
				return nil, incident.Invalidf("runbook rule %q: name the title keyword after title:", part)
			}
		case strings.Contains(cond, "="):
			k, v, _ := strings.Cut(cond, "=")
			r.Label, r.Value = strings.TrimSpace(k), strings.TrimSpace(v)
			if r.Label == "" || r.Value == "" || strings.ContainsAny(r.Label, " \t") {
				return nil, incident.Invalidf("runbook rule %q: write a label condition as `label=value`", part)
			}
		default:
			sev, err := incident.ParseSeverity(cond)
			if err != nil {
				return nil, incident.Invalidf("runbook rule %q: the condition is a severity (S1), `label=value` or `title:keyword`", part)
			}
			r.Severity = sev
		}
		out = append(out, r)
	}
	return out, nil
}

// Match returns the first rule that matches a new incident of severity
// sev with title and (for incidents opened by alerts) labels.
func Match(rules []Rule, sev incident.Severity, title string, labels map[string]string) (Rule, bool) {
	words := " " + strings.Join(strings.FieldsFunc(strings.ToLower(title), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 || r == '-' || r == '_')
	}), " ") + " "
	for _, r := range rules {
		switch {
		case r.Severity != 0 && r.Severity == sev,
			r.Label != "" && labels != nil && labels[r.Label] == r.Value,
			r.Keyword != "" && strings.Contains(words, " "+r.Keyword+" "):
			return r, true
		}
	}
	return Rule{}, false
}
