package work

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/pluginapi"
	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/store/boltstore"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
)

// The engine's tests run over both stores: the plugin KV store (its
// in-memory implementation, with the server's compare-and-set semantics)
// and bbolt in a temp dir.
func forEachStore(t *testing.T, test func(t *testing.T, docs cas.Docs)) {
	t.Run("kv", func(t *testing.T) { test(t, kvstore.New(&pluginapi.MemoryStore{})) })
	t.Run("bolt", func(t *testing.T) {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "work.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		test(t, st)
	})
}

var epoch = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// recorder is a handler that records its runs and answers as told.
type recorder struct {
	mu   sync.Mutex
	runs map[string][]Job
	// answer decides a run's outcome; nil: done, nothing next.
	answer func(j Job) (Outcome, error)
}

func (r *recorder) handle(_ context.Context, j Job) (Outcome, error) {
	r.mu.Lock()
	if r.runs == nil {
		r.runs = map[string][]Job{}
	}
	r.runs[j.Key] = append(r.runs[j.Key], j)
	answer := r.answer
	r.mu.Unlock()
	if answer == nil {
		return Outcome{}, nil
	}
	return answer(j)
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs[key])
}

func newEngine(docs cas.Docs, clock Clock, o Options) *Engine {
	o.Log = zerolog.Nop()
	return New(docs, clock, o)
}

// entries lists the index's entries of every bucket around now, by id.
func entries(t *testing.T, e *Engine, from, to time.Time) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	for b := bucketOf(from.UnixMilli()); b <= bucketOf(to.UnixMilli()); b++ {
		for s := range shards {
			d, _, err := cas.Load[shardDoc](context.Background(), e.docs, shardName(b, s))
			if err != nil {
				t.Fatal(err)
			}
			for id, at := range d.Due {
				out[id] = append(out[id], at)
			}
		}
	}
	for _, v := range out {
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	}
	return out
}

func TestWatchTakesOverOnlyAfterWatchingTheLeaseStandStill(t *testing.T) {
	clock := NewFakeClock(epoch)
	w := NewWatch(clock)
	l := cas.Lease{Owner: "a", Fence: 1, Beat: 3}
	if !w.MayTake("x", cas.Lease{}) {
		t.Fatal("a free lease may be taken")
	}
	if w.MayTake("x", l) {
		t.Fatal("the first look never counts")
	}
	for range 3 {
		clock.Advance(RenewEvery)
		if w.MayTake("x", l) && clock.Now().Sub(epoch) < LeaseTTL {
			t.Fatalf("taken after %s", clock.Now().Sub(epoch))
		}
	}
	if !w.MayTake("x", l) {
		t.Fatalf("not taken after watching it stand still for %s", clock.Now().Sub(epoch))
	}

	// A renewal starts the watch again.
	l.Beat++
	if w.MayTake("x", l) {
		t.Fatal("a renewed lease was taken")
	}
	// A pause longer than maxLookGap (a paused database: nobody could
	// renew, nobody could look) starts it again too.
	clock.Advance(maxLookGap + time.Second)
	if w.MayTake("x", l) {
		t.Fatal("taken on the first look after a pause")
	}
	clock.Advance(LeaseTTL / 2)
	if w.MayTake("x", l) {
		t.Fatal("taken half a TTL after a pause")
	}
	clock.Advance(LeaseTTL / 2)
	if !w.MayTake("x", l) {
		t.Fatal("not taken a TTL after the pause")
	}
}

func TestHoldRenewsAndGivesUpWhenRenewalsStopLanding(t *testing.T) {
	clock := NewFakeClock(epoch)
	var renewals atomic.Int32
	var failing atomic.Bool
	ctx, stop := Hold(context.Background(), clock, func(context.Context) (bool, error) {
		renewals.Add(1)
		if failing.Load() {
			return false, errors.New("database paused")
		}
		return true, nil
	})
	defer stop()
	step := func(d time.Duration) {
		// Let the renewer reach its wait, then move the clock.
		time.Sleep(5 * time.Millisecond)
		clock.Advance(d)
		time.Sleep(5 * time.Millisecond)
	}
	for range 4 {
		step(RenewEvery)
	}
	if n := renewals.Load(); n < 3 || ctx.Err() != nil {
		t.Fatalf("%d renewals in %s, ctx %v", n, 4*RenewEvery, ctx.Err())
	}
	failing.Store(true)
	for i := 0; i < 4 && ctx.Err() == nil; i++ {
		step(RenewEvery)
	}
	if !Lost(ctx) {
		t.Fatalf("still working %s after renewals stopped landing", 4*RenewEvery)
	}
	if err := Fence(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("fence after the lease was lost: %v", err)
	}
}

func TestHoldStopsWhenTheLeaseIsTakenOver(t *testing.T) {
	clock := NewFakeClock(epoch)
	ctx, stop := Hold(context.Background(), clock, func(context.Context) (bool, error) { return false, nil })
	defer stop()
	time.Sleep(5 * time.Millisecond)
	clock.Advance(RenewEvery)
	deadline := time.Now().Add(2 * time.Second)
	for !Lost(ctx) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !Lost(ctx) {
		t.Fatal("kept working after its lease was taken over")
	}
}

// An armed entry is always a value no run has seen: a run that removes the
// entry it was dispatched from never takes a newer arm with it.
func TestArmNeverReusesAValueARunMaySee(t *testing.T) {
	forEachStore(t, func(t *testing.T, docs cas.Docs) {
		ctx := context.Background()
		clock := NewFakeClock(epoch)
		e := newEngine(docs, clock, Options{})
		a1, err := e.Arm(ctx, "inc", "x")
		if err != nil {
			t.Fatal(err)
		}
		a2, err := e.Arm(ctx, "inc", "x") // same millisecond
		if err != nil {
			t.Fatal(err)
		}
		if a1 == a2 {
			t.Fatalf("two arms in one millisecond wrote the same value %d", a1)
		}
		// A run dispatched from a1 removes only a1: a2 replaced it.
		seen := Entry{Kind: "inc", Key: "x", At: a1, bucket: bucketOf(a1)}
		if _, err := e.wheel.apply(ctx, []change{{id: "inc:x", seen: &seen}}); err != nil {
			t.Fatal(err)
		}
		if got := entries(t, e, epoch, epoch)["inc:x"]; len(got) != 1 || got[0] != a2 {
			t.Errorf("after removing the old entry: %v, want [%d]", got, a2)
		}
	})
}

func TestTickRunsDueWorkAndSchedulesWhatFollows(t *testing.T) {
	forEachStore(t, func(t *testing.T, docs cas.Docs) {
		ctx := context.Background()
		clock := NewFakeClock(epoch)
		e := newEngine(docs, clock, Options{})
		r := &recorder{answer: func(j Job) (Outcome, error) {
			if j.Key == "later" && j.Entry.At == epoch.Add(time.Minute).UnixMilli() {
				return Outcome{Next: epoch.Add(10 * time.Minute)}, nil
			}
			return Outcome{}, nil
		}}
		e.Register("k", r.handle)
		for key, at := range map[string]time.Time{"now": epoch, "later": epoch.Add(time.Minute), "much-later": epoch.Add(time.Hour)} {
			if err := e.Schedule(ctx, "k", key, at); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if r.count("now") != 1 || r.count("later") != 0 || r.count("much-later") != 0 {
			t.Fatalf("first tick ran %v", r.runs)
		}
		clock.Advance(time.Minute)
		if err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if r.count("now") != 1 || r.count("later") != 1 {
			t.Fatalf("second tick ran %v", r.runs)
		}
		got := entries(t, e, epoch, epoch.Add(2*time.Hour))
		if want := epoch.Add(10 * time.Minute).UnixMilli(); len(got["k:later"]) != 1 || got["k:later"][0] != want {
			t.Errorf("successor of later: %v, want [%d]", got["k:later"], want)
		}
		if len(got["k:now"]) != 0 {
			t.Errorf("entry of a finished run kept: %v", got["k:now"])
		}
		clock.Advance(10 * time.Minute)
		if err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if r.count("later") != 2 {
			t.Errorf("successor did not run: %v", r.runs["later"])
		}
	})
}

// A subject whose runs fail (an error, a panic, a record that cannot be
// read) moves on with backoff and is set aside after MaxTries, once, while
// the others due with it run on every tick; the index is never held back
// by it.
func TestPoisonIsSetAsideWithoutHoldingUpOthers(t *testing.T) {
	forEachStore(t, func(t *testing.T, docs cas.Docs) {
		ctx := context.Background()
		clock := NewFakeClock(epoch)
		var (
			mu   sync.Mutex
			dead []DeadLetter
		)
		e := newEngine(docs, clock, Options{OnDead: func(_ context.Context, d DeadLetter) {
			mu.Lock()
			dead = append(dead, d)
			mu.Unlock()
		}})
		r := &recorder{answer: func(j Job) (Outcome, error) {
			switch j.Key {
			case "poison":
				return Outcome{}, errors.New("cannot decode the record")
			case "panics":
				panic("boom")
			}
			// The healthy ones come back every minute.
			return Outcome{Next: clock.Now().Add(time.Minute)}, nil
		}}
		e.Register("k", r.handle)
		for _, key := range []string{"poison", "panics", "a", "b"} {
			if err := e.Schedule(ctx, "k", key, epoch); err != nil {
				t.Fatal(err)
			}
		}
		// Run ticks over the next 20 minutes.
		for range 20 * 12 {
			if err := e.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			clock.Advance(5 * time.Second)
		}
		if r.count("poison") != MaxTries || r.count("panics") != MaxTries {
			t.Errorf("failing runs: poison %d, panics %d, want %d each", r.count("poison"), r.count("panics"), MaxTries)
		}
		if r.count("a") < 19 || r.count("b") < 19 {
			t.Errorf("healthy subjects held up: a ran %d, b %d times in 20 minutes", r.count("a"), r.count("b"))
		}
		mu.Lock()
		defer mu.Unlock()
		if len(dead) != 2 {
			t.Fatalf("admins told of %d dead letters, want 2: %+v", len(dead), dead)
		}
		letters, err := e.DeadLetters(ctx)
		if err != nil || len(letters) != 2 {
			t.Fatalf("dead letters %+v, %v", letters, err)
		}
		// Backoff: the eighth try came about eight and a half minutes on.
		r.mu.Lock()
		runs := r.runs["poison"]
		r.mu.Unlock()
		if span := time.Duration(runs[len(runs)-1].Entry.At-runs[0].Entry.At) * time.Millisecond; span < 4*time.Minute {
			t.Errorf("eight tries within %s: no backoff", span)
		}
		// The directory lists no bucket the poison left behind: only the
		// healthy ones' next minute, and the recent ones not settled yet.
		dir, _, _ := cas.Load[dirDoc](ctx, docs, dirName)
		for _, b := range dir.Buckets {
			if b < settled(clock.Now())-1 {
				t.Errorf("settled bucket %d still listed: %v", b, dir.Buckets)
			}
		}
		// Retrying a letter brings it back.
		d, ok, err := e.TakeDeadLetter(ctx, letters[0].N)
		if err != nil || !ok || d.Key != letters[0].Key {
			t.Fatalf("take letter: %+v %v %v", d, ok, err)
		}
		if left, _ := e.DeadLetters(ctx); len(left) != 1 {
			t.Errorf("letters left: %+v", left)
		}
	})
}

// Busy subjects (another live process works on them) keep their entry and
// are looked at again on the next tick, until the holder lets go.
func TestBusySubjectIsLookedAtAgainOnEachTick(t *testing.T) {
	forEachStore(t, func(t *testing.T, docs cas.Docs) {
		ctx := context.Background()
		clock := NewFakeClock(epoch)
		e := newEngine(docs, clock, Options{})
		var busy atomic.Bool
		busy.Store(true)
		r := &recorder{answer: func(Job) (Outcome, error) { return Outcome{Busy: busy.Load()}, nil }}
		e.Register("k", r.handle)
		if err := e.Schedule(ctx, "k", "x", epoch); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := e.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			clock.Advance(5 * time.Second)
		}
		busy.Store(false)
		for range 2 {
			if err := e.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			clock.Advance(5 * time.Second)
		}
		if r.count("x") != 4 {
			t.Errorf("runs %d, want 3 busy and 1 done", r.count("x"))
		}
		if got := entries(t, e, epoch, clock.Now()); len(got) != 0 {
			t.Errorf("entries left: %v", got)
		}
	})
}

// The plugin is down for ten minutes: every timer that fell due meanwhile
// fires once when it is back, late by at most the outage, even entries
// much older than the recent buckets, and the index catches up.
func TestOutageFiresEveryTimerOnceAfterwards(t *testing.T) {
	forEachStore(t, func(t *testing.T, docs cas.Docs) {
		ctx := context.Background()
		clock := NewFakeClock(epoch)
		e := newEngine(docs, clock, Options{})
		r := &recorder{}
		e.Register("k", r.handle)
		if err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for i := range 40 {
			key := fmt.Sprintf("t%d", i)
			keys = append(keys, key)
			if err := e.Schedule(ctx, "k", key, epoch.Add(time.Duration(i)*15*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(10*time.Minute + 5*time.Second) // nobody ticks
		for range 4 {
			if err := e.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			clock.Advance(5 * time.Second)
		}
		for _, k := range keys {
			if n := r.count(k); n != 1 {
				t.Errorf("%s ran %d times", k, n)
			}
		}
		if got := entries(t, e, epoch, clock.Now()); len(got) != 0 {
			t.Errorf("entries left: %v", got)
		}
	})
}

// A woken subject runs once however often it is woken while it runs, and
// again if woken meanwhile.
func TestWakeCoalesces(t *testing.T) {
	e := newEngine(kvstore.New(&pluginapi.MemoryStore{}), RealClock(0), Options{})
	release := make(chan struct{})
	var runs atomic.Int32
	e.Register("k", func(ctx context.Context, j Job) (Outcome, error) {
		if runs.Add(1) == 1 {
			<-release
		}
		return Outcome{}, nil
	})
	e.Wake("k", "x")
	for range 10 {
		e.Wake("k", "x")
	}
	close(release)
	if err := e.Quiesce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("runs %d, want 2 (the first, and one for the wakes during it)", n)
	}
}

// A woken run that stops with more owed at once (its bounded rounds used
// up under a storm of changes) goes on in the woken loop, without waiting
// for the next tick; one that is busy elsewhere, or next due later, does
// not.
func TestWokenRunDueAgainGoesOn(t *testing.T) {
	e := newEngine(kvstore.New(&pluginapi.MemoryStore{}), RealClock(0), Options{})
	var runs atomic.Int32
	e.Register("k", func(ctx context.Context, j Job) (Outcome, error) {
		switch runs.Add(1) {
		case 1, 2:
			return Outcome{Next: time.Now()}, nil // more owed at once
		case 3:
			return Outcome{Busy: true}, nil
		}
		return Outcome{Next: time.Now().Add(time.Hour)}, nil
	})
	e.Wake("k", "x")
	if err := e.Quiesce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("runs %d, want 3 (two due again at once, then busy)", n)
	}
	e.Wake("k", "x")
	if err := e.Quiesce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 4 {
		t.Errorf("runs %d, want 4 (next due in an hour: not again)", n)
	}
}

// hookDocs runs before once, just before the first write of a shard
// document lands: a test makes the world move on in the middle of a write.
type hookDocs struct {
	cas.Docs
	mu     sync.Mutex
	before func()
}

func (h *hookDocs) CompareAndSetDoc(ctx context.Context, name string, old, next []byte) (bool, error) {
	h.mu.Lock()
	f := h.before
	if f != nil && next != nil && strings.HasPrefix(name, wheelPrefix) && name != dirName {
		h.before = nil
	} else {
		f = nil
	}
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return h.Docs.CompareAndSetDoc(ctx, name, old, next)
}

// A write so slow that its bucket settled and was removed from the
// directory meanwhile is placed again, so that no entry is left where no
// tick looks.
func TestSlowWriteIsPlacedAgainWhenItsBucketWasRemoved(t *testing.T) {
	forEachStore(t, func(t *testing.T, docs cas.Docs) {
		ctx := context.Background()
		clock := NewFakeClock(epoch)
		hooked := &hookDocs{Docs: docs}
		writer := newEngine(hooked, clock, Options{})
		ticker := newEngine(docs, clock, Options{})
		r := &recorder{}
		ticker.Register("k", r.handle)
		// Something keeps the writer's bucket listed, then leaves it.
		if err := ticker.Schedule(ctx, "k", "other", epoch); err != nil {
			t.Fatal(err)
		}
		hooked.before = func() {
			// The writer stalls for three minutes: its bucket settles,
			// the tick runs what it holds and removes it.
			clock.Advance(3 * time.Minute)
			if err := ticker.Tick(ctx); err != nil {
				t.Error(err)
			}
		}
		if _, err := writer.Arm(ctx, "k", "slow"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
		if err := ticker.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if r.count("slow") != 1 {
			t.Fatalf("the slow write's entry ran %d times, want once", r.count("slow"))
		}
	})
}

// After the cluster was stopped for three days, the first tick finds the
// entries that fell due meanwhile, however old.
func TestEntriesDaysOldAreFoundAtOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, docs cas.Docs) {
		ctx := context.Background()
		clock := NewFakeClock(epoch)
		e := newEngine(docs, clock, Options{})
		r := &recorder{}
		e.Register("k", r.handle)
		for i := range 5 {
			if err := e.Schedule(ctx, "k", fmt.Sprintf("t%d", i), epoch.Add(time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(72 * time.Hour)
		if err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if n := r.count(fmt.Sprintf("t%d", i)); n != 1 {
				t.Errorf("t%d ran %d times", i, n)
			}
		}
	})
}

// Two nodes that ran the same failing entry at once both set it aside:
// one letter is kept and the admins are told once; another item of the
// subject, or the subject again after its letter was taken, is a letter
// of its own.
func TestSetAsideKeepsOneLetterPerSubject(t *testing.T) {
	forEachStore(t, func(t *testing.T, docs cas.Docs) {
		ctx := context.Background()
		var told atomic.Int64
		e := newEngine(docs, NewFakeClock(epoch), Options{OnDead: func(context.Context, DeadLetter) { told.Add(1) }})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := e.SetAside(ctx, DeadLetter{Kind: "inc", Key: "a", Error: "boom", Tries: MaxTries}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if err := e.SetAside(ctx, DeadLetter{Kind: "inc", Key: "a", Item: "follow-up 3", Error: "boom"}); err != nil {
			t.Fatal(err)
		}
		letters, err := e.DeadLetters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(letters) != 2 || told.Load() != 2 {
			t.Fatalf("%d letters, told %d times; want 2 and 2: %+v", len(letters), told.Load(), letters)
		}
		if _, ok, err := e.TakeDeadLetter(ctx, letters[0].N); !ok || err != nil {
			t.Fatalf("take: %v %v", ok, err)
		}
		if err := e.SetAside(ctx, DeadLetter{Kind: "inc", Key: "a", Error: "boom again"}); err != nil {
			t.Fatal(err)
		}
		if letters, _ := e.DeadLetters(ctx); len(letters) != 2 || told.Load() != 3 {
			t.Errorf("after a retry failed again: %d letters, told %d times; want 2 and 3", len(letters), told.Load())
		}
	})
}
