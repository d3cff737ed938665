package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore/kvtest"
)

// openIncidents starts n S3 incidents a minute apart, resolving every
// third after 7 minutes, and runs their follow-up work.
func openIncidents(t testing.TB, e *costEnv, n int) {
	t.Helper()
	for i := range n {
		e.clk.set(t0.Add(time.Duration(i) * time.Minute))
		inc, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: fmt.Sprintf("Incident %d", i), Severity: incident.S3})
		if err != nil {
			t.Fatal(err)
		}
		e.runHeld()
		if i%3 == 0 {
			e.clk.set(t0.Add(time.Duration(i)*time.Minute + 7*time.Minute))
			if _, err := e.app.Resolve(ctx, "alice", inc, "fixed"); err != nil {
				t.Fatal(err)
			}
			e.runHeld()
		}
	}
	e.clk.set(t0.Add(time.Duration(n)*time.Minute + time.Hour))
}

// statsCost reads the stats twice (the first view marks the month ready)
// and returns the second view's figures and KV cost.
func statsCost(t *testing.T, n int) (*Stats, kvtest.Counts) {
	e := newCostEnv(t)
	openIncidents(t, e, n)
	if _, err := e.app.Stats(ctx, "alice", t0.AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}
	before := e.kv.Snapshot()
	st, err := e.app.Stats(ctx, "alice", t0.AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	return st, e.kv.Since(before)
}

// TestStatsReadMonthsNotIncidents: a stats view makes the same KV calls
// over 20 and over 400 incidents of a month, and counts each of them
// with the figures its timeline gives.
func TestStatsReadMonthsNotIncidents(t *testing.T) {
	few, fewCost := statsCost(t, 20)
	many, manyCost := statsCost(t, 400)
	t.Logf("stats view: %d calls, %d B over 20 incidents; %d calls, %d B over 400", fewCost.Calls(), fewCost.Read, manyCost.Calls(), manyCost.Read)
	if fewCost.Calls() != manyCost.Calls() || manyCost.Sets != 0 {
		t.Errorf("a stats view made %d KV calls over 20 incidents and %d (%d writes) over 400", fewCost.Calls(), manyCost.Calls(), manyCost.Sets)
	}
	for _, c := range []struct {
		st       *Stats
		n, fixed int
	}{{few, 20, 7}, {many, 400, 134}} {
		s3 := c.st.BySeverity[incident.S3]
		if c.st.Incidents != c.n || s3 == nil || s3.Incidents != c.n || len(c.st.Pending) != 0 || len(c.st.Months) != 1 {
			t.Fatalf("%d incidents: counted %d (%+v), pending %v", c.n, c.st.Incidents, s3, c.st.Pending)
		}
		if s3.ToResolve.N != c.fixed || s3.ToResolve.P90.Round(time.Minute) != 7*time.Minute {
			t.Errorf("%d incidents: time to resolve %+v, want %d at 7 minutes", c.n, s3.ToResolve, c.fixed)
		}
		if s3.ToAck.N != 0 || c.st.PagesPerPerson["ann"] == 0 && len(c.st.PagesPerPerson) == 0 {
			t.Errorf("%d incidents: acks %+v, pages %v", c.n, s3.ToAck, c.st.PagesPerPerson)
		}
	}
}

// forgetStats removes every stats document of month, as a version
// before them left the store.
func forgetStats(t *testing.T, e *costEnv, month string) {
	t.Helper()
	for n := range statsShards {
		if _, _, err := updateDoc(ctx, e.app.store, statsShardDoc(month, n), func(*statsShard, bool) error { return errDelete }); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := updateDoc(ctx, e.app.store, statsReadyDoc(month), func(*struct{}, bool) error { return errDelete }); err != nil {
		t.Fatal(err)
	}
}

// TestStatsOfAnOlderVersionsMonth: a month whose incidents have no
// entries (written before them) is computed once: here, when few lack
// them; in the background, and pending meanwhile, when many do.
func TestStatsOfAnOlderVersionsMonth(t *testing.T) {
	for _, n := range []int{statsInline, statsInline + 30} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newCostEnv(t)
			openIncidents(t, e, n)
			forgetStats(t, e, monthOf(t0))
			since := t0.AddDate(0, 0, -1)
			st, err := e.app.Stats(ctx, "alice", since)
			if err != nil {
				t.Fatal(err)
			}
			if n > statsInline {
				if len(st.Pending) != 1 || st.Pending[0] != monthOf(t0) || st.Incidents != 0 {
					t.Fatalf("%d incidents without entries: pending %v, counted %d; want the month pending", n, st.Pending, st.Incidents)
				}
				if err := e.app.Quiesce(ctx); err != nil {
					t.Fatal(err)
				}
				if st, err = e.app.Stats(ctx, "alice", since); err != nil {
					t.Fatal(err)
				}
			}
			if st.Incidents != n || len(st.Pending) != 0 {
				t.Fatalf("%d incidents: counted %d, pending %v", n, st.Incidents, st.Pending)
			}
			if raw, _ := e.app.store.GetDoc(ctx, statsReadyDoc(monthOf(t0))); raw == nil {
				t.Error("the month is not marked ready")
			}
		})
	}
}

// TestStatsCountPrivateIncidentsForTheirReadersOnly: a private incident
// counts for whoever reads its channel; its overdue action item shows to
// them alone.
func TestStatsCountPrivateIncidentsForTheirReadersOnly(t *testing.T) {
	e := newCostEnv(t)
	openIncidents(t, e, 2)
	inc, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "Payroll leak", Severity: incident.S1})
	if err != nil {
		t.Fatal(err)
	}
	e.runHeld()
	if _, err := e.app.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error { i.Private = true; return nil }); err != nil {
		t.Fatal(err)
	}
	e.app.access = access{inc.ChannelID: "alice"}
	if _, err := e.app.AddActionItem(ctx, "alice", mustGet(t, e, inc.ID), "rotate the keys", "alice", e.clk.now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.runHeld()
	for user, want := range map[string]int{"alice": 3, "bob": 2} {
		st, err := e.app.Stats(ctx, user, t0.AddDate(0, 0, -1))
		if err != nil {
			t.Fatal(err)
		}
		overdue := len(st.OverdueActions)
		if st.Incidents != want || overdue != want-2 || st.BySeverity[incident.S1] != nil != (want == 3) {
			t.Errorf("%s: counted %d incidents, %d overdue items; want %d and %d", user, st.Incidents, overdue, want, want-2)
		}
	}
}

func mustGet(t *testing.T, e *costEnv, id string) *incident.Incident {
	t.Helper()
	inc, err := e.app.store.GetIncident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}
