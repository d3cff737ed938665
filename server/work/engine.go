package work

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
)

// Handler does what subject key of its kind owes now. It reads the
// subject's record, takes the record's lease (Busy when a live process
// holds it), does the work, and reports when the subject next needs a
// look. A run dispatched from an entry clears the record's Timer when it
// names that entry or an older one (see the package comment).
type Handler func(ctx context.Context, job Job) (Outcome, error)

// Job is one run of a handler.
type Job struct {
	Kind, Key string
	// Entry is the index entry the run was dispatched from; nil for a run
	// woken by a change, which leaves the index to the entry that change
	// made findable.
	Entry *Entry
	// Owner is a fresh lease owner for this run.
	Owner string
}

// Tries is how many runs in a row failed before this one.
func (j Job) Tries() int {
	if j.Entry == nil {
		return 0
	}
	return j.Entry.Tries
}

// Clears reports whether a run may clear a record's Timer (Unix ms): the
// run was dispatched from that entry or a later one, so the entry the
// Timer names is gone or going.
func (j Job) Clears(timer int64) bool { return j.Entry != nil && timer != 0 && timer <= j.Entry.At }

// Outcome is what a run found.
type Outcome struct {
	// Next is when the subject next needs a look; zero when nothing is
	// scheduled on it.
	Next time.Time
	// Busy: another live process holds the subject. The entry stays, and
	// the next tick looks (and watches its lease) again.
	Busy bool
}

// Options tune an Engine.
type Options struct {
	// Workers bounds the runs at once on this process (default 128; their
	// slow calls of the chat server are bounded apart, see priority.go).
	Workers int
	// PerTick bounds the entries one tick dispatches (default 256).
	PerTick int
	// RunTimeout bounds one run (default 2 minutes).
	RunTimeout time.Duration
	// Inline runs woken subjects before Wake returns (tests).
	Inline bool
	// Hold, when set, receives woken runs instead of running them: a test
	// runs them when it chooses, or drops them as a crash would.
	Hold func(run func(context.Context))
	// OnDead is told of every new dead letter, once, after it is stored.
	OnDead func(ctx context.Context, d DeadLetter)
	Log    zerolog.Logger
}

// Engine runs the handlers of registered kinds: at once when a change
// wakes a subject, and from the due index when the tick finds its entries
// due.
type Engine struct {
	docs  cas.Docs
	clock Clock
	wheel *wheel
	watch *Watch
	opts  Options
	log   zerolog.Logger

	mu      sync.Mutex
	kinds   map[string]Handler
	running map[string]*wakeState // subjects running on this process
	sem     chan struct{}
	bg      sync.WaitGroup
}

type wakeState struct {
	again bool
}

// New returns an engine over docs.
func New(docs cas.Docs, clock Clock, o Options) *Engine {
	if o.Workers <= 0 {
		o.Workers = 128
	}
	if o.PerTick <= 0 {
		o.PerTick = 256
	}
	if o.RunTimeout <= 0 {
		o.RunTimeout = 2 * time.Minute
	}
	return &Engine{docs: docs, clock: clock, wheel: &wheel{docs: docs, clock: clock}, watch: NewWatch(clock), opts: o, log: o.Log,
		kinds: map[string]Handler{}, running: map[string]*wakeState{}, sem: make(chan struct{}, o.Workers)}
}

// SetHold has woken runs handed to hold instead of run (tests).
func (e *Engine) SetHold(hold func(run func(context.Context))) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opts.Hold = hold
}

// Register sets the handler of kind; kinds are stored in the index, so a
// kind's name must stay.
func (e *Engine) Register(kind string, h Handler) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.kinds[kind] = h
}

// Clock is the engine's clock.
func (e *Engine) Clock() Clock { return e.clock }

// Watch is this process's watch of other holders' leases.
func (e *Engine) Watch() *Watch { return e.watch }

// Arm makes subject key findable before a change that leaves it work is
// committed: it writes a fresh entry due now and returns its due time, for
// the record's Timer.
func (e *Engine) Arm(ctx context.Context, kind, key string) (int64, error) {
	return e.wheel.arm(ctx, kind+":"+key)
}

// Schedule adds an entry for subject key due at at (never before now). An
// earlier entry of the subject in the same bucket shard stands instead.
func (e *Engine) Schedule(ctx context.Context, kind, key string, at time.Time) error {
	if at.IsZero() {
		return nil
	}
	_, err := e.wheel.apply(ctx, []change{{id: kind + ":" + key, add: max(at.UnixMilli(), 1)}})
	return err
}

// Armed reports whether a record whose Timer is timer (Unix ms) is
// findable for a commit now: the entry it names exists and is due within
// MaxDelay.
func (e *Engine) Armed(timer int64) bool {
	return timer != 0 && time.UnixMilli(timer).Before(e.clock.Now().Add(MaxDelay))
}

// Wake runs subject key of kind soon on this process (at once when the
// engine is inline), once however often it is woken while it runs; the
// caller has made the subject findable (see Arm), so a wake that never
// runs (the process dies) only delays the work.
func (e *Engine) Wake(kind, key string) {
	run := func(ctx context.Context) bool { return e.runWoken(ctx, kind, key) }
	e.mu.Lock()
	hold := e.opts.Hold
	e.mu.Unlock()
	switch {
	case hold != nil:
		hold(func(ctx context.Context) { run(ctx) })
		return
	case e.opts.Inline:
		ctx, cancel := context.WithTimeout(context.Background(), e.opts.RunTimeout)
		defer cancel()
		for i := 0; run(ctx) && i < inlineAgain; i++ {
		}
		return
	}
	id := kind + ":" + key
	e.mu.Lock()
	if st, ok := e.running[id]; ok {
		st.again = true
		e.mu.Unlock()
		return
	}
	st := &wakeState{}
	e.running[id] = st
	e.mu.Unlock()
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		for {
			e.sem <- struct{}{}
			ctx, cancel := context.WithTimeout(context.Background(), e.opts.RunTimeout)
			due := run(ctx)
			cancel()
			<-e.sem
			e.mu.Lock()
			if st.again || due {
				st.again = false
				e.mu.Unlock()
				continue
			}
			delete(e.running, id)
			e.mu.Unlock()
			return
		}
	}()
}

// runWoken runs a woken subject; the index is left to the entry that made
// it findable. It reports whether the subject is due again at once (a run
// that stopped after its bounded rounds with more owed): the woken loop
// goes on instead of leaving it to the next tick.
func (e *Engine) runWoken(ctx context.Context, kind, key string) bool {
	out, err := e.run(withBackground(ctx), Job{Kind: kind, Key: key, Owner: cas.NewOwner()})
	if err != nil {
		e.log.Warn().Err(err).Str("kind", kind).Str("key", key).Msg("work failed; its entry in the due index brings it back")
		return false
	}
	return !out.Busy && !out.Next.IsZero() && !out.Next.After(e.clock.Now())
}

// inlineAgain bounds the runs of a woken subject in inline mode (tests)
// that are due again at once.
const inlineAgain = 64

// Run runs subject key of kind now, in the caller's goroutine, as a woken
// run: for use cases that must see the work done before they answer.
func (e *Engine) Run(ctx context.Context, kind, key string) (Outcome, error) {
	return e.run(ctx, Job{Kind: kind, Key: key, Owner: cas.NewOwner()})
}

// run calls the kind's handler, turning a panic into an error.
func (e *Engine) run(ctx context.Context, job Job) (out Outcome, err error) {
	e.mu.Lock()
	h := e.kinds[job.Kind]
	e.mu.Unlock()
	if h == nil {
		return Outcome{}, fmt.Errorf("no handler for work of kind %q", job.Kind)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s %s panicked: %v", job.Kind, job.Key, r)
			e.log.Error().Str("kind", job.Kind).Str("key", job.Key).Str("stack", string(debug.Stack())).Msg("work panicked")
		}
	}()
	return h(ctx, job)
}

// Tick runs what the due index holds due now: every due entry (up to
// PerTick; the rest on the next tick) is dispatched to its handler, a few
// at a time, and the index is brought up to date in one write per
// document touched. A run still going when ctx ends writes its own change
// when it finishes. The cluster runs Tick on one node at a time.
func (e *Engine) Tick(ctx context.Context) error {
	e.watch.Sweep()
	snap, err := e.wheel.due(ctx, e.opts.PerTick)
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		changes []change
		late    bool // the tick stopped waiting: the stragglers write their own
		wg      sync.WaitGroup
	)
	for _, entry := range snap.entries {
		id := entry.id()
		e.mu.Lock()
		_, busy := e.running[id]
		if !busy {
			e.running[id] = &wakeState{}
		}
		e.mu.Unlock()
		if busy {
			continue // running here already; its entry waits for the next tick
		}
		select {
		case e.sem <- struct{}{}:
		case <-ctx.Done():
			e.mu.Lock()
			delete(e.running, id)
			e.mu.Unlock()
			continue
		}
		wg.Add(1)
		e.bg.Add(1)
		go func() {
			defer e.bg.Done()
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.RunTimeout)
			out, err := e.run(withBackground(rctx), Job{Kind: entry.Kind, Key: entry.Key, Entry: &entry, Owner: cas.NewOwner()})
			cancel()
			<-e.sem
			c := e.settle(context.WithoutCancel(ctx), entry, out, err)
			e.mu.Lock()
			st := e.running[id]
			delete(e.running, id)
			e.mu.Unlock()
			mu.Lock()
			if late {
				mu.Unlock()
				if c != nil {
					if _, err := e.wheel.apply(context.Background(), []change{*c}); err != nil {
						e.log.Warn().Err(err).Str("entry", id).Msg("move a due entry")
					}
				}
			} else {
				if c != nil {
					changes = append(changes, *c)
				}
				mu.Unlock()
			}
			wg.Done()
			if st != nil && st.again {
				e.Wake(entry.Kind, entry.Key)
			}
		}()
	}
	wait, stop := stopWaiting(ctx)
	waitCtx(wait, &wg)
	stop()
	mu.Lock()
	late = true
	batch := changes
	mu.Unlock()
	wctx := context.WithoutCancel(ctx)
	left, err := e.wheel.apply(wctx, batch)
	if err != nil {
		return err
	}
	return e.wheel.prune(wctx, snap, left)
}

// tickMargin is how long before its deadline a tick stops waiting for its
// runs, to write the index with what has finished.
const tickMargin = 2 * time.Second

// stopWaiting is ctx, ending tickMargin before its deadline.
func stopWaiting(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-tickMargin))
	}
	return context.WithCancel(ctx)
}

// waitCtx waits for wg, or until ctx ends.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// settle turns the outcome of a run dispatched from entry into the change
// of its entry: removed, with the run's successor added; left (busy); or
// moved on with backoff after a failure, and set aside after MaxTries.
func (e *Engine) settle(ctx context.Context, entry Entry, out Outcome, err error) *change {
	id := entry.id()
	switch {
	case errors.Is(err, cas.ErrNewerFormat):
		// A newer version of the plugin owns the record now: come back
		// later, in case this node is the only one running ticks.
		return &change{id: id, seen: &entry, add: e.clock.Now().Add(time.Minute).UnixMilli(), tries: entry.Tries}
	case err != nil:
		tries := entry.Tries + 1
		if tries >= MaxTries {
			d := DeadLetter{Kind: entry.Kind, Key: entry.Key, Error: err.Error(), Tries: tries}
			if derr := e.SetAside(ctx, d); derr != nil {
				e.log.Error().Err(derr).Str("entry", id).Msg("set a failing subject aside; it is retried")
				return &change{id: id, seen: &entry, add: e.clock.Now().Add(Backoff(tries)).UnixMilli(), tries: tries}
			}
			return &change{id: id, seen: &entry}
		}
		e.log.Warn().Err(err).Str("kind", entry.Kind).Str("key", entry.Key).Int("tries", tries).Msg("work failed; retried with backoff")
		return &change{id: id, seen: &entry, add: e.clock.Now().Add(Backoff(tries)).UnixMilli(), tries: tries}
	case out.Busy:
		return nil
	}
	c := &change{id: id, seen: &entry}
	if !out.Next.IsZero() {
		c.add = max(out.Next.UnixMilli(), 1)
	}
	return c
}

// Quiesce waits until the runs of this process have finished, or ctx
// ends: a plugin being stopped lets work in flight complete instead of
// leaving it to a takeover.
func (e *Engine) Quiesce(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		e.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Due is a subject to schedule: kind, key and when.
type Due struct {
	Kind, Key string
	At        time.Time
}

// ScheduleAll adds an entry for each subject, in one write per index
// document touched (see Schedule).
func (e *Engine) ScheduleAll(ctx context.Context, due []Due) error {
	changes := make([]change, 0, len(due))
	for _, d := range due {
		if !d.At.IsZero() {
			changes = append(changes, change{id: d.Kind + ":" + d.Key, add: max(d.At.UnixMilli(), 1)})
		}
	}
	_, err := e.wheel.apply(ctx, changes)
	return err
}
