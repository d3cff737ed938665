package postmortem

import (
	"flag"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.md from the current output")

// golden compares got with testdata/<name>.golden.md, or rewrites the file
// with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.md")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the output at line %d:\nwant %q\n got %q\n(run go test -update if the change is intended)", path, i+1, w, g)
			}
		}
	}
}

func TestRenderRichGolden(t *testing.T) {
	in := richScenario(t)
	md := Render(in)
	golden(t, "rich", md)
	checkSafe(t, md)
	for _, want := range []string{
		"# Postmortem #abc234: Checkout API returns 500s",
		"2026-06-10 22:40:00 UTC (2026-06-11 00:40:00 CEST)", // the display zone, across midnight
		"- **Highest severity reached:** S1 (critical)",
		"reopened once",
		"- **Time to first acknowledgement:** 22m 30s",
		"2 pages, 3 re-notifications, 1 escalation, 1 closed unacknowledged",
		"- **Time to mitigate:** 1h 30m\n",
		"2h 40m to the final resolution; first resolved after 1h 50m, then reopened once",
		"- **Time open:** 2h 20m",
		"longest gap 47m", "overdue 24m in total (2 late updates, 1 reminder)",
		"| Incident manager | @alice | 2026-06-10 22:40:00 | 2026-06-10 23:50:00 (handed over) | rota |",
		"| Incident manager | @erin | 2026-06-10 23:50:00 | 2026-06-11 00:30:00 (resolved) | handover from @alice |",
		"**First line**: @bob is away; First line goes to @carol, next available in the First line rota",
		"**Incident manager** from @alice to @erin: requested by @alice at 2026-06-10 23:45:00 UTC; accepted at 2026-06-10 23:50:00 UTC, after 5m",
		"| 1 | Add schema validation for EU override files \\| CI | @dave | 2026-06-20 |",
		"| 2 | Write a config rollback runbook | @alice | 2026-06-15 12:00:00 (overdue) |",
		"| 4 | Re-enable carol's paging app notifications | @carol | 2026-06-11 09:00:00 |",
		"- @grace: Release manager; paged once",
		"### Update 2: 2026-06-10 23:52:00 UTC, @alice",
		"- From 2026-06-10 22:50:00 UTC to 2026-06-11 00:30:00 UTC: 1h 40m\n- From 2026-06-11 00:50:00 UTC to 2026-06-11 01:20:00 UTC: 30m\n- In total: 2h 10m\n",
		"- **Release manager:** @frank\n- **Release manager substitution:** @grace has not acknowledged her page; @frank is next available in the Release manager rota\n",
		"- **Deployed:** by @frank at 2026-06-10 23:42:00 UTC\n- **Time from request to deploy:** 17m\n- **Outcome:** signed off after deploy at 2026-06-11 00:05:00 UTC\n",
		"- **Outcome:** rejected in staging by @heidi at 2026-06-11 01:05:00 UTC: Schema check fails on the EU file | needs the new validator",
		"| 2026-06-11 01:05:00 | @heidi | qa rejected staging (hotfix 2): Schema check fails on the EU file \\| needs the new validator |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the postmortem lacks %q", want)
		}
	}
	if strings.Contains(md, "Dashboards lagged") && strings.Count(md, "Dashboards lagged") != 1 {
		t.Error("a plain note shows outside the timeline")
	}
	if strings.Contains(md, "draft") || strings.Contains(md, "Draft") {
		t.Error("a resolved incident renders as a draft")
	}
}

func TestRenderDraftGolden(t *testing.T) {
	md := Render(draftScenario(t))
	golden(t, "draft", md)
	checkSafe(t, md)
	for _, want := range []string{
		"# Postmortem draft #xyz789: Search latency high",
		"> **Draft:** this incident is still mitigated, not resolved.",
		"2026-01-05 14:00:00 UTC (2026-01-05 15:00:00 CET)",
		"not acknowledged yet (first page 2026-01-05 14:01:00 UTC)",
		"- **Time to resolve:** not resolved yet",
		"- **Duration so far:** 1h",
		"overdue 40m in total", "longest gap 1h",
		"| Incident manager | @bob | 2026-01-05 14:00:30 | still holding | take |",
		"_No status updates were posted._", "_No action items yet._", "_Not described yet._",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the draft lacks %q", want)
		}
	}
}

func TestRenderSurvivesNilAndEmpty(t *testing.T) {
	md := Render(Input{})
	for _, want := range []string{"# Postmortem draft Incident: (untitled)", "still open, not resolved", "severity reached:** unknown",
		"_The timeline is empty._", "_Nobody is on record._"} {
		if !strings.Contains(md, want) {
			t.Errorf("empty input: lacks %q in\n%s", want, md)
		}
	}
	// The timeline knows a severity the record lost.
	in := draftScenario(t)
	in.Incident.HighestSeverity = 0
	in.Timeline = append(in.Timeline, ev(draftStart.Add(time.Minute), "ubob", incident.EventSeverityChanged, "", incident.DataFrom, "S3", incident.DataTo, "S2"))
	if md := Render(in); !strings.Contains(md, "severity reached:** S2 (major); S3 (minor) now") {
		t.Errorf("highest severity not taken from the timeline:\n%s", md)
	}
	// Without a name function or a zone: ids and UTC only.
	in = draftScenario(t)
	in.Name, in.Location = nil, nil
	md = Render(in)
	if !strings.Contains(md, "@ubob") || strings.Contains(md, "CET") || !strings.Contains(md, "all in UTC") {
		t.Errorf("defaults not applied:\n%s", md)
	}
}

// TestRenderKeepsHostileTextInItsPlace feeds text that would break tables,
// open code blocks, fake headings and mention everyone.
func TestRenderKeepsHostileTextInItsPlace(t *testing.T) {
	in := richScenario(t)
	hostile := "@channel | @HERE\n```\n## Fake heading\n| a | b |\n|---|---|\nend \\| @all-hands \\"
	in.Incident.Title = hostile
	in.Impact = hostile
	in.Incident.Resolution = hostile
	in.Actions = append(in.Actions, ActionItem{N: 9, Text: hostile, Owner: "ucarol"})
	in.Timeline = append(in.Timeline, ev(richStart.Add(5*time.Hour), "ucarol", incident.EventNote, hostile, DataLesson, "true"),
		ev(richStart.Add(5*time.Hour), "ucarol", incident.EventStatusUpdate, hostile))
	in.Name = func(id string) string { return "@" + id + " | x\n@here" }
	md := Render(in)
	checkSafe(t, md)
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "## Fake") || strings.HasPrefix(l, "```") {
			t.Errorf("user text escaped its quote: %q", l)
		}
	}
}

// checkSafe asserts that md mentions nobody at large and that every table
// row has as many cells as its header, counting pipes as Mattermost's
// markdown parser does (a pipe after an odd run of backslashes is text).
func checkSafe(t *testing.T, md string) {
	t.Helper()
	low := strings.ToLower(md)
	for _, w := range []string{"channel", "all", "here"} {
		needle := "@" + w
		for off := 0; ; {
			i := strings.Index(low[off:], needle)
			if i < 0 {
				break
			}
			i += off
			if after := low[i+len(needle):]; after == "" || !isWordByte(after[0]) {
				t.Errorf("bare mass mention at %d: %q", i, md[max(0, i-20):min(len(md), i+20)])
			}
			off = i + 1
		}
	}
	lines := strings.Split(md, "\n")
	for i := 0; i+1 < len(lines); i++ {
		if !isRow(lines[i]) || !isDelimiterRow(lines[i+1]) {
			continue
		}
		want := cells(lines[i])
		for j := i + 1; j < len(lines) && isRow(lines[j]); j++ {
			if got := cells(lines[j]); got != want {
				t.Errorf("line %d has %d cells, its header %d: %q", j+1, got, want, lines[j])
			}
		}
	}
}

func isWordByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80 }

// cells counts the cells of a table row: unescaped pipes minus one.
func cells(row string) int {
	n, slashes := 0, 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			slashes++
			continue
		case '|':
			if slashes%2 == 0 {
				n++
			}
		}
		slashes = 0
	}
	return n - 1
}

// TestImportsStayPure enforces the package's dependency rule: the standard
// library and the pure domain packages (incident, rota, mention, runbook) only, no
// Mattermost, cron or bbolt.
func TestImportsStayPure(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/incidentbot/mattermost-incident-bot/server/"
	pure := map[string]bool{mod + "incident": true, mod + "rota": true, mod + "mention": true, mod + "runbook": true}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if !pure[path] && strings.Contains(first, ".") {
				t.Errorf("%s imports %s: package postmortem may import only the standard library and the pure domain packages", name, path)
			}
		}
	}
}

// TestDescribePageWithoutText covers paging events that carry no sentence
// of their own: the description is built from their data.
func TestDescribePageWithoutText(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	evs := []incident.Event{
		pageEv(t0, "system", incident.EventPaged, "x-1", "ucarol", incident.RoleL1, 1, ""),
		pageEv(t0, "system", incident.EventPageRenotified, "x-1", "ucarol", incident.RoleL1, 1, ""),
		pageEv(t0, "system", incident.EventPageEscalated, "x-1", "udave", incident.RoleL2, 2, ""),
		pageEv(t0, "udave", incident.EventPageAcknowledged, "x-1", "udave", incident.RoleL2, 2, ""),
		pageEv(t0, "system", incident.EventPageClosed, "x-2", "ugrace", "", 1, ""),
	}
	r := newRenderer(Input{Timeline: evs, Name: name})
	want := []string{
		"Page 1: @carol paged as First line (level 1)",
		"Page 1: @carol notified again (level 1)",
		"Page 1: escalated to @dave as Second line (level 2)",
		"Page 1: page to @dave (level 2) acknowledged",
		"Page 2: page to @grace (level 1) closed unacknowledged",
	}
	for i, e := range evs {
		if got := r.describe(e, 0); got != want[i] {
			t.Errorf("describe(%s) = %q, want %q", e.Type, got, want[i])
		}
	}
}
