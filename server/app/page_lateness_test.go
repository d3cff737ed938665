package app

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
)

// lateness runs the page timers of pages pages, opened at random instants
// over 30 minutes, through Tick at the cluster job's real cadence: the
// next tick starts schedule.DefaultTickInterval after the previous one
// ended (pluginapi/cluster counts from the last finish), on a virtual
// clock that also advances by the real time each tick takes. It returns
// the lateness of every escalation and re-notification, and of the
// escalations alone, sorted: the time from its due instant to its send.
// (Re-notifications fall due a fixed time after the tick that sent the
// previous notification, so they tend to be due just before a tick;
// escalations of pages opened at random instants are due anywhere between
// ticks.)
func lateness(t testing.TB, pages int) (all, escalations []time.Duration) {
	e := newPageEnv(t, 1)
	pager := e.pagers[0]
	var tickStart time.Time
	wall := map[string]time.Duration{} // page#notice -> real time into its tick
	pager.onSend = func(p *Page, n Notice) {
		wall[fmt.Sprintf("%s#%d", p.ID, n.Number)] = time.Since(tickStart)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	opens := make([]time.Duration, pages)
	for i := range opens {
		opens[i] = time.Duration(rng.Int64N(int64(30 * time.Minute)))
	}
	slices.Sort(opens)
	incs := make([]*incident.Incident, pages)
	for i := range incs {
		incs[i] = e.incident(t, incident.S1, chain())
	}
	next := 0
	for now := t0; now.Before(t0.Add(50 * time.Minute)); {
		for ; next < pages && !t0.Add(opens[next]).After(now); next++ {
			e.clk.set(t0.Add(opens[next]))
			if _, err := e.nodes[0].Page(ctx, incs[next], PageRequest{Actor: "zed", Role: incident.RoleL1}); err != nil {
				t.Fatal(err)
			}
		}
		e.clk.set(now)
		tickStart = time.Now()
		e.nodes[0].Tick(ctx)
		now = now.Add(schedule.DefaultTickInterval + time.Since(tickStart))
	}

	s := e.pagers[0].sends()
	byPage := map[string][]sent{}
	for _, x := range s {
		byPage[x.page] = append(byPage[x.page], x)
	}
	set := e.settings
	for id, ss := range byPage {
		slices.SortFunc(ss, func(a, b sent) int { return a.notice.Number - b.notice.Number })
		levelStart := ss[0].at
		for i, x := range ss[1:] {
			due := ss[i].at.Add(set.Renotify)
			if x.notice.Kind == NoticeEscalate {
				due = levelStart.Add(set.AckTimeout[incident.S1])
				levelStart = x.at
			}
			late := x.at.Sub(due) + wall[fmt.Sprintf("%s#%d", id, x.notice.Number)]
			all = append(all, late)
			if x.notice.Kind == NoticeEscalate {
				escalations = append(escalations, late)
			}
		}
	}
	slices.Sort(all)
	slices.Sort(escalations)
	return all, escalations
}

func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i, 1)-1]
}

// A due timer fires within 10 seconds of its due time: here, over 200
// pages and their escalations and re-notifications, at the real tick
// cadence. (The benchmark runs 1,000 pages.)
func TestPageTimerLateness(t *testing.T) {
	all, esc := lateness(t, 200)
	for _, l := range []struct {
		what string
		d    []time.Duration
	}{{"all timers", all}, {"escalations", esc}} {
		t.Logf("%s (%d): lateness p50 %s, p99 %s, max %s, min %s", l.what, len(l.d),
			percentile(l.d, 50), percentile(l.d, 99), l.d[len(l.d)-1], l.d[0])
	}
	if all[0] < 0 {
		t.Errorf("a timer fired %s early", -all[0])
	}
	if worst := all[len(all)-1]; worst >= 10*time.Second {
		t.Errorf("a timer fired %s late, want under 10s", worst)
	}
}

// BenchmarkPageTimerLateness reports the lateness percentiles (ms) of the
// page timers at the real tick cadence; see lateness.
func BenchmarkPageTimerLateness(b *testing.B) {
	for b.Loop() {
		all, esc := lateness(b, 1000)
		b.ReportMetric(float64(percentile(all, 50).Milliseconds()), "p50-ms")
		b.ReportMetric(float64(percentile(all, 99).Milliseconds()), "p99-ms")
		b.ReportMetric(float64(all[len(all)-1].Milliseconds()), "max-ms")
		b.ReportMetric(float64(percentile(esc, 50).Milliseconds()), "esc-p50-ms")
		b.ReportMetric(float64(percentile(esc, 99).Milliseconds()), "esc-p99-ms")
		b.ReportMetric(float64(len(all)), "timers")
	}
}
