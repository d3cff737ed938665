package runbook

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// FuzzParse: Parse never panics; it either returns an invalid-input error
// or steps within the limits, whose re-rendering parses to the same steps.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"- [ ] a",
		"# H\n- [ ] [rm] Freeze deploys\n## I\n* [ ] [l2] restart",
		"- [x] done",
		"- plain",
		"```\n- [ ] a\n```\n- [ ] b",
		"#\n",
		"- [ ] [] empty role",
		"- [ ] [im]",
		"###### deep ######\n+ [ ] x",
		"\r\n- [ ] crlf\r\n",
		"- [ ] \xff",
		"####### not a heading\n- [ ] a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, md string) {
		steps, err := Parse(md)
		if err != nil {
			if incident.KindOf(err) != incident.KindInvalid {
				t.Fatalf("error of kind %v: %v", incident.KindOf(err), err)
			}
			return
		}
		if len(steps) == 0 || len(steps) > MaxSteps {
			t.Fatalf("%d steps", len(steps))
		}
		var b strings.Builder
		last := ""
		for _, s := range steps {
			if s.Text == "" || utf8.RuneCountInString(s.Text) > MaxStepRunes || strings.TrimSpace(s.Text) != s.Text {
				t.Fatalf("step text %q", s.Text)
			}
			if s.Section != last && s.Section != "" {
				b.WriteString("# " + s.Section + "\n")
			}
			last = s.Section
			b.WriteString("- [ ] ")
			if s.Role != "" {
				b.WriteString("[" + string(s.Role) + "] ")
			}
			b.WriteString(s.Text + "\n")
		}
		again, err := Parse(b.String())
		if err != nil {
			t.Fatalf("re-rendered %q: %v", b.String(), err)
		}
		if len(again) != len(steps) {
			t.Fatalf("re-rendered %d steps, had %d", len(again), len(steps))
		}
		for i := range steps {
			if again[i].Text != steps[i].Text || again[i].Role != steps[i].Role {
				t.Fatalf("step %d: %+v, had %+v", i, again[i], steps[i])
			}
		}
	})
}
