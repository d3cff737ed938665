package runbook

import (
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestParse(t *testing.T) {
	md := "# Build server down\n\nCheck the basics first.\n\n- [ ] Page the build team\n* [ ] [rm] Freeze deploys\n  - [ ]   [L2]  Restart   the agent  \n\n## After\n```\n- not a step\n```\n+ [ ] Write it up\n"
	steps, err := Parse(md)
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{
		{Section: "Build server down", Text: "Page the build team"},
		{Section: "Build server down", Text: "Freeze deploys", Role: incident.RoleRM},
		{Section: "Build server down", Text: "Restart the agent", Role: incident.RoleL2},
		{Section: "After", Text: "Write it up"},
	}
	if len(steps) != len(want) {
		t.Fatalf("steps = %+v", steps)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, steps[i], want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ md, want string }{
		{"- [ ] ok\n- plain item", "line 2: a list item without a checkbox"},
		{"- [x] done", "line 1: a runbook step starts unchecked"},
		{"\n\n- [ ] [boss] do it", "line 3: unknown role [boss]"},
		{"- [ ]   ", "line 1: a step without text"},
		{"- [ ] [im]", "line 1: a step without text"},
		{"#\n- [ ] a", "line 1: a heading without text"},
		{"- [ ] " + strings.Repeat("a", MaxStepRunes+1), "line 1: the step is 301 characters long"},
		{"just prose", "the runbook has no steps"},
		{"```\n- [ ] a\n", "never closed"},
		{strings.Repeat("- [ ] a\n", MaxSteps+1), "line 101: more than 100 steps"},
		{strings.Repeat("x", MaxMarkdownBytes+1), "bytes long"},
		{"- [ ] \xff", "not valid UTF-8"},
	} {
		_, err := Parse(tc.md)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.30q) = %v, want %q", tc.md, err, tc.want)
		}
		if err != nil && incident.KindOf(err) != incident.KindInvalid {
			t.Errorf("Parse(%.30q): kind %v", tc.md, incident.KindOf(err))
		}
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{"Build-Server": "build-server", " db_failover ": "db_failover"} {
		if got, err := CleanName(in); err != nil || got != want {
			t.Errorf("CleanName(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-x", "a b", "ü", strings.Repeat("a", 41)} {
		if _, err := CleanName(in); err == nil {
			t.Errorf("CleanName(%q) accepted", in)
		}
	}
}

func TestChecklistTransitions(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	d, err := NewDefinition("bs", "Build server", "- [ ] a\n- [ ] [rm] b\n- [ ] c", "admin", at)
	if err != nil {
		t.Fatal(err)
	}
	d.Version = 3
	c := NewChecklist("inc1", d, "u1", "start", at)
	if c.Version != 3 || len(c.Items) != 3 || c.Items[1].Role != incident.RoleRM {
		t.Fatalf("checklist = %+v", c)
	}
	if _, err := c.Done(1, "u1", at); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Done(1, "u2", at); !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("done twice: %v", err)
	}
	if _, err := c.Skip(2, "u2", " ", at); !errors.Is(err, incident.ErrInvalid) {
		t.Fatalf("skip without reason: %v", err)
	}
	if it, err := c.Skip(2, "u2", "no deploys today", at); err != nil || it.Reason != "no deploys today" {
		t.Fatalf("skip: %+v %v", it, err)
	}
	if _, err := c.Done(2, "u2", at); !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("done after skip: %v", err)
	}
	if _, err := c.Undo(3); !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("undo open: %v", err)
	}
	if _, err := c.Done(9, "u1", at); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("done 9: %v", err)
	}
	if was, err := c.Undo(1); err != nil || was.Status != StatusDone || c.Items[0].Status != StatusOpen || c.Items[0].By != "" {
		t.Fatalf("undo: %+v %v", was, err)
	}
	if n, total := c.Progress(); n != 1 || total != 3 {
		t.Fatalf("progress %d of %d", n, total)
	}
	it, err := c.Add("Check   the disk", incident.RoleL1, "u3", at)
	if err != nil || it.N != 4 {
		t.Fatalf("add: %+v %v", it, err)
	}
	if _, err := c.Add("[rm] x", "", "u3", at); err == nil {
		t.Fatal("add with a leading [ accepted")
	}
	md := Propose(d.Markdown, c.Added())
	steps, err := Parse(md)
	if err != nil || len(steps) != 4 || steps[3].Role != incident.RoleL1 || steps[3].Text != "Check the disk" {
		t.Fatalf("proposed %q: %+v %v", md, steps, err)
	}
}

func TestRules(t *testing.T) {
	rules, err := ParseRules("S1 -> major-incident; alertname=BuildServerDown -> build-server\ntitle:database -> db-failover")
	if err != nil || len(rules) != 3 {
		t.Fatalf("%+v %v", rules, err)
	}
	for _, tc := range []struct {
		sev    incident.Severity
		title  string
		labels map[string]string
		want   string
	}{
		{incident.S1, "Database down", nil, "major-incident"},
		{incident.S2, "x", map[string]string{"alertname": "BuildServerDown"}, "build-server"},
		{incident.S2, "The Database is slow", nil, "db-failover"},
		{incident.S2, "databases", nil, ""},
	} {
		r, ok := Match(rules, tc.sev, tc.title, tc.labels)
		if ok != (tc.want != "") || r.Runbook != tc.want {
			t.Errorf("Match(%v, %q) = %+v %v, want %q", tc.sev, tc.title, r, ok, tc.want)
		}
	}
	for _, bad := range []string{"S1 major", "S9 -> x", "=v -> x", "title: -> x", "S1 -> Bad Name"} {
		if _, err := ParseRules(bad); err == nil {
			t.Errorf("ParseRules(%q) accepted", bad)
		}
	}
}

// TestImportsStayPure: the standard library, package incident and package
// cas (the stored lease, itself standard library only).
func TestImportsStayPure(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			pure := path == "github.com/incidentbot/mattermost-incident-bot/server/incident" || path == "github.com/incidentbot/mattermost-incident-bot/server/cas"
			if !pure && strings.Contains(first, ".") {
				t.Errorf("%s imports %s: package runbook is pure domain", name, path)
			}
		}
	}
}
