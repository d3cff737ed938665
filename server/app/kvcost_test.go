package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/routing"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore/kvtest"
)

// The cost of the hot paths in KV calls, the unit the real server pays
// for, at a few and at many open incidents: the production KV store over a
// counting in-memory KV, a full rota, paging and status update reminders
// on. Follow-up work is held and run apart, so that what the request pays
// and what the worker pays after it are counted separately.

// costEnv is one App on a counting KV whose follow-up work is held.
type costEnv struct {
	kv    *kvtest.Counting // nil in a fault sweep's env over another store
	app   *App
	clk   *clock
	mu    sync.Mutex
	held  []func(context.Context)
	pager *fakePager
	shift *fakeShifts
	reach *fakeReach
	// rotaRules are the settings' rota rules (under mu).
	rotaRules []routing.Rule
}

// chat and postmortems are the env's fakes.
func (e *costEnv) chat() *fakeChat               { return e.app.chat.(*fakeChat) }
func (e *costEnv) postmortems() *fakePostmortems { return e.app.postmortems.(*fakePostmortems) }

func newCostEnv(t testing.TB) *costEnv {
	t.Helper()
	kv := kvtest.New()
	clk := &clock{t: t0}
	// The store's memory of recent reads ages on the env's clock: the
	// counts do not depend on how fast the test runs (-race, a busy CI).
	e := newCostEnvWith(t, kvstore.New(kv, kvstore.WithClock(clk.now)), clk)
	e.kv = kv
	return e
}

// newCostEnvOn is the env's App, held follow-ups and rota over st.
func newCostEnvOn(t testing.TB, st incident.Store) *costEnv {
	t.Helper()
	return newCostEnvWith(t, st, &clock{t: t0})
}

// newCostEnvWith is newCostEnvOn with the clock clk.
func newCostEnvWith(t testing.TB, st incident.Store, clk *clock) *costEnv {
	t.Helper()
	e := &costEnv{clk: clk, pager: newFakePager("n"), shift: newFakeShifts(), reach: &fakeReach{}}
	chat := newFakeChat()
	ids := 0
	var idMu sync.Mutex
	a, err := New(Deps{
		Store: st, Chat: chat, Notifier: chat, Access: access{}, Directory: admins{"root": true},
		Schedules: func(spec string) (rota.Schedule, *time.Location, error) {
			s, err := schedule.Parse(spec)
			if err != nil {
				return nil, nil, err
			}
			return s, s.Location, nil
		},
		Settings: func() Settings {
			e.mu.Lock()
			rules := e.rotaRules
			e.mu.Unlock()
			return Settings{BroadcastChannelID: "bc", RotaRules: rules,
				AckTimeout:    map[incident.Severity]time.Duration{incident.S1: 5 * time.Minute, incident.S2: 10 * time.Minute, incident.S3: 30 * time.Minute},
				UpdateCadence: map[incident.Severity]time.Duration{incident.S1: 15 * time.Minute, incident.S2: 30 * time.Minute, incident.S3: time.Hour}}
		},
		Clock: e.clk.now,
		IDs: func() string {
			idMu.Lock()
			defer idMu.Unlock()
			ids++
			return fmt.Sprintf("c%05d", ids)
		},
		Pager: e.pager, Reminders: &fakeReminders{}, Postmortems: &fakePostmortems{}, Releases: newFakeReleases(),
		Shifts: e.shift, Reach: e.reach, BotID: "bot", Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	a.SetHold(func(run func(context.Context)) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.held = append(e.held, run)
	})
	e.app = a
	_, _, _, err = a.EditRota(ctx, "root", func(v *RotaView, now time.Time) ([]string, error) {
		for role, ids := range fiveRoles {
			if _, err := v.Rota.SetMembers(role, ids, v.Schedule, now); err != nil {
				return nil, err
			}
		}
		v.Rota.ChannelID = "rota"
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// runHeld runs the follow-up work held so far (and what it holds in turn).
func (e *costEnv) runHeld() {
	for {
		e.mu.Lock()
		work := e.held
		e.held = nil
		e.mu.Unlock()
		if len(work) == 0 {
			return
		}
		for _, run := range work {
			run(ctx)
		}
	}
}

// measure runs op and then its follow-up work, and returns what each cost.
func (e *costEnv) measure(t testing.TB, op func() error) (request, followUp kvtest.Counts) {
	t.Helper()
	before := e.kv.Snapshot()
	if err := op(); err != nil {
		t.Fatal(err)
	}
	request = e.kv.Since(before)
	before = e.kv.Snapshot()
	e.runHeld()
	return request, e.kv.Since(before)
}

// pathCosts are the costs of each hot path, by name.
type pathCosts map[string]kvtest.Counts

// hotPathCosts opens n incidents (S3, fully staffed, paged), lets the
// clock pass their first minute, then measures a start, a status update,
// the acknowledgement of the start's page, a resolve, and a tick with
// nothing due, on top of them.
func hotPathCosts(t testing.TB, n int) pathCosts {
	e := newCostEnv(t)
	for range n {
		if _, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "Checkout slow", Severity: incident.S3}); err != nil {
			t.Fatal(err)
		}
		e.runHeld()
	}
	// Ticks every 5 seconds work off what the starts left in the work
	// index (each start's entry, each page's first), a bounded number per
	// tick, and move them to their reminders.
	for at := 5 * time.Minute; at <= 7*time.Minute; at += 5 * time.Second {
		e.clk.set(t0.Add(at))
		e.app.Tick(ctx)
		e.runHeld()
	}
	e.clk.set(t0.Add(8 * time.Minute))
	costs := pathCosts{}
	record := func(name string, req, follow kvtest.Counts) {
		costs[name] = req
		costs[name+" (follow-up)"] = follow
	}
	var inc *incident.Incident
	req, follow := e.measure(t, func() (err error) {
		inc, err = e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "Payments down", Severity: incident.S3})
		return err
	})
	record("start", req, follow)
	req, follow = e.measure(t, func() error { _, err := e.app.PostUpdate(ctx, "alice", inc, "rolling back"); return err })
	record("update", req, follow)
	sends := e.pager.sends()
	page := sends[len(sends)-1]
	if page.page[:len(inc.ID)] != inc.ID {
		t.Fatalf("last page %s is not the new incident's", page.page)
	}
	req, follow = e.measure(t, func() error { _, err := e.app.AcknowledgePage(ctx, page.target, page.page); return err })
	record("ack", req, follow)
	req, follow = e.measure(t, func() error { _, err := e.app.Resolve(ctx, "alice", inc, "fixed"); return err })
	record("resolve", req, follow)
	req, follow = e.measure(t, func() error { e.app.Tick(ctx); return nil })
	record("tick", req, follow)
	return costs
}

// TestHotPathKVCallsAreFlat: every hot path makes the same KV calls with
// 10 and with 1,000 open incidents, and reads and writes about as many
// bytes: only the sharded indexes grow, by their share of the incidents.
// The tick reads every shard of the two timer indexes, whose entries are
// the open incidents and pending pages: its calls are flat, its bytes
// grow by about 50 per open incident.
func TestHotPathKVCallsAreFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 incidents")
	}
	few, many := hotPathCosts(t, 10), hotPathCosts(t, 1000)
	for name, f := range few {
		m := many[name]
		t.Logf("%-22s calls %3d -> %3d, read %6d -> %6d B, written %6d -> %6d B", name, f.Calls(), m.Calls(), f.Read, m.Read, f.Written, m.Written)
		if f.Calls() != m.Calls() {
			t.Errorf("%s: %d KV calls with 10 open incidents, %d with 1,000", name, f.Calls(), m.Calls())
		}
		// 1,000 incidents over 8 to 32 index shards, each entry at most
		// 40 bytes: a shard grows by at most 5 KB.
		grow := int64(8 * 5000)
		if name == "tick" {
			grow = 1000 * 60
		}
		if m.Read > f.Read+grow || m.Written > f.Written+2*5000 {
			t.Errorf("%s: bytes grew from %d read, %d written to %d, %d", name, f.Read, f.Written, m.Read, m.Written)
		}
	}
}

// BenchmarkHotPathKVCalls reports the KV calls and bytes of each hot path
// at 10 and at 10,000 open incidents (go test -bench HotPath -benchtime 1x).
func BenchmarkHotPathKVCalls(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("open=%d", n), func(b *testing.B) {
			var costs pathCosts
			for b.Loop() {
				costs = hotPathCosts(b, n)
			}
			for name, c := range costs {
				unit := strings.ReplaceAll(strings.Trim(strings.ReplaceAll(name, "(follow-up)", "followup"), " "), " ", "-")
				b.ReportMetric(float64(c.Calls()), unit+"-kv-calls")
				b.ReportMetric(float64(c.Read+c.Written), unit+"-kv-bytes")
			}
		})
	}
}
