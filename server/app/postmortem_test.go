package app

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestActionItemsImpactLessonsAndPostmortem(t *testing.T) {
	e := newEnv(t)
	inc := e.start(t, "Checkout down")
	if _, err := e.app.SetImpact(ctx, "ian", inc, "EU card payments failed for 20 minutes"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.AddNote(ctx, "ian", inc, "Alert fired late: threshold too high", true); err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	a1, err := e.app.AddActionItem(ctx, "ian", inc, "Lower the alert threshold", "max", due)
	if err != nil || a1.N != 1 {
		t.Fatalf("add: %+v %v", a1, err)
	}
	a2, _ := e.app.AddActionItem(ctx, "ian", inc, "Add a runbook", "", time.Time{})
	if a2.N != 2 {
		t.Fatalf("second item numbered %d", a2.N)
	}
	if _, err := e.app.CompleteActionItem(ctx, "max", inc, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.CompleteActionItem(ctx, "max", inc, 1); !errors.Is(err, incident.ErrConflict) {
		t.Errorf("done twice: %v", err)
	}
	if _, err := e.app.CompleteActionItem(ctx, "max", inc, 9); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("unknown item: %v", err)
	}
	cur, _ := e.store.GetIncident(ctx, inc.ID)
	md, err := e.app.Postmortem(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DRAFT", "EU card payments failed", "Alert fired late", "Lower the alert threshold", "Add a runbook"} {
		if !strings.Contains(strings.ToUpper(md), strings.ToUpper(want)) {
			t.Errorf("postmortem lacks %q", want)
		}
	}
	tl, _ := e.store.Timeline(ctx, inc.ID)
	if got := types(tl); !strings.HasSuffix(got, "impact_set,note,action_added,action_added,action_done") {
		t.Errorf("timeline = %s", got)
	}
}

func TestStatsAcrossIncidents(t *testing.T) {
	e := newEnv(t)
	a := e.start(t, "a") // S2
	e.now = e.now.Add(10 * time.Minute)
	if _, err := e.app.Resolve(ctx, "ian", a, ""); err != nil {
		t.Fatal(err)
	}
	b := e.start(t, "b")
	e.now = e.now.Add(30 * time.Minute)
	if _, err := e.app.Mitigate(ctx, "ian", b); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.AddActionItem(ctx, "ian", b, "overdue thing", "max", e.now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	st, err := e.app.Stats(ctx, "ian", e.now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s2 := st.BySeverity[incident.S2]
	if st.Incidents != 2 || s2 == nil || s2.Incidents != 2 {
		t.Fatalf("stats = %+v", st)
	}
	// a resolved after 10m+1s (the test clock ticks a second per call); b
	// mitigated after 30m+1s: one resolve, two mitigations.
	if s2.ToResolve.N != 1 || s2.ToResolve.Mean.Round(time.Minute) != 10*time.Minute {
		t.Errorf("to resolve = %+v", s2.ToResolve)
	}
	if s2.ToMitigate.N != 2 || s2.ToMitigate.P90.Round(time.Minute) != 30*time.Minute || s2.ToMitigate.Mean.Round(time.Minute) != 20*time.Minute {
		t.Errorf("to mitigate = %+v", s2.ToMitigate)
	}
	if s2.ToAck.N != 0 {
		t.Errorf("acks without pages: %+v", s2.ToAck)
	}
	if len(st.OverdueActions) != 1 || st.OverdueActions[0].Item.Text != "overdue thing" {
		t.Errorf("overdue actions = %+v", st.OverdueActions)
	}
	if st, _ := e.app.Stats(ctx, "ian", e.now.Add(time.Hour)); st.Incidents != 0 {
		t.Errorf("since in the future counted %d", st.Incidents)
	}
}
