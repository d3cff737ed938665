package report

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func names(id string) string { return "@" + map[string]string{"u1": "alice", "u2": "bob"}[id] }

func render(s string) string { return rota.RenderUsers(s, names) }

func TestTimeline(t *testing.T) {
	inc := &incident.Incident{ID: "abc", Title: "DB | down *now*", Severity: incident.S2}
	start := inc.Start(t0, "u1")
	note := incident.NewEvent(t0.Add(time.Minute), "u2", incident.EventNote, "paged <@u1> | again")
	role := incident.NewEvent(t0.Add(2*time.Minute), "u1", incident.EventRoleAssigned, "").
		With(incident.DataRole, string(incident.RoleIM)).With(incident.DataTo, "u2").With(incident.DataWhy, "rota")
	lookups := 0
	count := func(id string) string { lookups++; return names(id) }
	got := Timeline(inc, []incident.Event{start, note, role}, count, render)
	want := "#### Timeline of incident #abc: DB | down \\*now\\*\n| Time (UTC) | Who | Event |\n|---|---|---|\n" +
		"| 2026-03-10 12:00:00 | @alice | " + EventCell(start) + " |\n" +
		"| 2026-03-10 12:01:00 | @bob | note: paged @alice \\| again |\n" +
		"| 2026-03-10 12:02:00 | @alice | " + render(EventCell(role)) + " |\n"
	if got != want {
		t.Fatalf("Timeline =\n%s\nwant\n%s", got, want)
	}
	if lookups != 2 {
		t.Errorf("%d name lookups for 2 actors", lookups)
	}
	if !strings.Contains(EventCell(role), "<@u2> (rota)") {
		t.Errorf("role cell = %q", EventCell(role))
	}
	// A tail says how much it leaves out.
	note.Seq, role.Seq = 98, 99
	if got := Timeline(inc, []incident.Event{note, role}, names, render); !strings.HasSuffix(got, "\n_Showing the last 2 of 100 events._") {
		t.Errorf("tail = %q", got)
	}
}

func TestIncidentTable(t *testing.T) {
	inc := &incident.Incident{ID: "abc", Title: "a|b", Severity: incident.S1, Status: incident.StatusMitigated, CreatedAt: t0}
	got := IncidentTable([]*incident.Incident{inc}, IDCell)
	want := "| Id | Severity | Status | Title | Started |\n|---|---|---|---|---|\n| `abc` | S1 | " + incident.StatusMitigated.Label() + " | a\\|b | 2026-03-10 12:00 UTC |\n"
	if got != want {
		t.Fatalf("IncidentTable =\n%q\nwant\n%q", got, want)
	}
}

func TestStats(t *testing.T) {
	if got := Stats(&app.Stats{Since: t0}); got != "#### Incidents since 2026-03-10: 0\n_Private incidents of channels you are not in are not counted._\n" {
		t.Errorf("empty stats = %q", got)
	}
	st := &app.Stats{Since: t0, Incidents: 1,
		BySeverity:     map[incident.Severity]*app.SeverityStats{incident.S2: {Incidents: 1, ToAck: app.DurationStats{N: 1, Mean: time.Minute, P90: time.Minute}}},
		PagesPerPerson: map[string]int{"u1": 1, "u2": 3}}
	got := render(Stats(st))
	for _, want := range []string{"_Private incidents of channels you are not in are not counted._", "| S2 | 1 | ", " (n=1) | - | - |", "**Pages per person:** @bob 3, @alice 1\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("stats lack %q:\n%s", want, got)
		}
	}
}
