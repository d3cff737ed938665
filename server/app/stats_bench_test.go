package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// BenchmarkStatsView is one stats view over n incidents of three months
// whose figures are stored (go test -bench StatsView ./server/app).
func BenchmarkStatsView(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("incidents=%d", n), func(b *testing.B) {
			e := newCostEnv(b)
			from := t0.AddDate(0, -3, 0)
			var entries []*StatsEntry
			people := []string{"ann", "bob", "cy", "dee"}
			for i := range n {
				at := from.Add(time.Duration(i) * (90 * 24 * time.Hour / time.Duration(n)))
				tta, ttm, ttr := time.Duration(20+i%200)*time.Second, time.Duration(10+i%50)*time.Minute, time.Duration(70+i%300)*time.Minute
				entries = append(entries, &StatsEntry{ID: fmt.Sprintf("s%05d", i), Team: "team", Channel: fmt.Sprintf("ch%05d", i), Created: at,
					Sev: incident.Severity(1 + i%4), TTA: &tta, TTM: &ttm, TTR: &ttr, Events: 5, Rev: 3,
					Pages: map[string]int{people[i%4]: 1}, Stints: map[string]int{people[i%4]: 1, people[(i+1)%4]: 1}})
			}
			if err := e.app.putStatsEntries(ctx, entries); err != nil {
				b.Fatal(err)
			}
			for m := range 4 {
				at := from.AddDate(0, m, 0)
				month := monthOf(at)
				// An incident in the month's index (the stats read the months
				// that have incidents), without figures: the month is ready.
				if err := e.app.store.CreateIncident(ctx, &incident.Incident{ID: fmt.Sprintf("m%d", m), ChannelID: fmt.Sprintf("mc%d", m), CreatedAt: at, Status: incident.StatusResolved, Severity: incident.S3, HighestSeverity: incident.S3}); err != nil {
					b.Fatal(err)
				}
				if _, err := e.app.store.CompareAndSetDoc(ctx, statsReadyDoc(month), nil, []byte(`{}`)); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				// From the first month's start, as a view whose window began
				// earlier reads it: every month whole.
				st, err := e.app.Stats(ctx, "alice", time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC))
				if err != nil || st.Incidents != n {
					b.Fatalf("%v, %d counted", err, st.Incidents)
				}
			}
		})
	}
}
