package work

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
)

// Lease timing; see the package comment for the rule.
const (
	// LeaseTTL is how long a watcher must see a lease stand still before
	// it may take it over.
	LeaseTTL = 15 * time.Second
	// RenewEvery is how often a holder renews.
	RenewEvery = LeaseTTL / 3
	// HoldFor is how long a holder keeps working after the start of its
	// last renewal that landed: well inside LeaseTTL, so that it has
	// stopped before a watcher may take over.
	HoldFor = LeaseTTL / 2
	// maxLookGap is the longest gap between two looks of a watch: a longer
	// one (a paused database, a stopped process) starts the watch again,
	// so that a holder whose last call is landing after the pause can
	// still finish before anyone takes over. Ticks look every few
	// seconds, well within it.
	maxLookGap = LeaseTTL
)

// Watch is what this process saw of other holders' leases, keyed by the
// record: the half of the lease rule that lives in memory. Losing it (a
// restart) only delays a takeover.
type Watch struct {
	clock Clock
	mu    sync.Mutex
	seen  map[string]sighting
}

type sighting struct {
	owner       string
	beat        int64
	first, last time.Time
}

// NewWatch returns an empty watch on clock.
func NewWatch(clock Clock) *Watch { return &Watch{clock: clock, seen: map[string]sighting{}} }

// MayTake reports whether this process may take the lease l of record key
// now: it is free, or this process has watched the same owner and beat for
// LeaseTTL, in looks at most maxLookGap apart. Every call is a look.
func (w *Watch) MayTake(key string, l cas.Lease) bool {
	if !l.Held() {
		w.Forget(key)
		return true
	}
	now := w.clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.seen[key]
	if !ok || s.owner != l.Owner || s.beat != l.Beat || now.Sub(s.last) > maxLookGap {
		w.seen[key] = sighting{owner: l.Owner, beat: l.Beat, first: now, last: now}
		return false
	}
	s.last = now
	w.seen[key] = s
	return now.Sub(s.first) >= LeaseTTL
}

// Forget drops what the watch saw of key's lease.
func (w *Watch) Forget(key string) {
	w.mu.Lock()
	delete(w.seen, key)
	w.mu.Unlock()
}

// Sweep drops sightings not looked at for a while, so the watch stays as
// small as the set of leases being watched.
func (w *Watch) Sweep() {
	now := w.clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, s := range w.seen {
		if now.Sub(s.last) > 4*LeaseTTL {
			delete(w.seen, k)
		}
	}
}

// ErrLeaseLost: the holder's lease was taken over, or no renewal landed
// for HoldFor; the work stops and is retried.
var ErrLeaseLost = errors.New("the lease was lost while working")

// Renewal writes one renewal of a lease (Beat+1 in its record, by
// compare-and-set, only while the caller still holds it) and reports
// whether the caller still holds it.
type Renewal func(ctx context.Context) (held bool, err error)

// Hold keeps a lease while work runs: it calls renew every RenewEvery from
// a goroutine and returns a context for the work that ends when the lease
// is lost or has gone HoldFor without a renewal landing (its cause is then
// ErrLeaseLost), or when stop is called. stop waits for the goroutine.
func Hold(parent context.Context, clock Clock, renew Renewal) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		landed := clock.Now() // the take itself was the first renewal
		for {
			deadline := landed.Add(HoldFor)
			wait := min(RenewEvery, deadline.Sub(clock.Now()))
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-clock.After(wait):
			}
			if !clock.Now().Before(deadline) {
				cancel(ErrLeaseLost)
				return
			}
			start := clock.Now()
			held, err := renewWithin(ctx, renew, deadline.Sub(start))
			switch {
			case err == nil && held:
				landed = start
			case err == nil && !held:
				cancel(ErrLeaseLost)
				return
			}
			// An error: keep trying until the deadline.
		}
	})
	return ctx, func() {
		close(done)
		cancel(context.Canceled)
		wg.Wait()
	}
}

// renewWithin runs one renewal, giving up after d (the call may still land
// later; only one that returned in time counts).
func renewWithin(ctx context.Context, renew Renewal, d time.Duration) (bool, error) {
	rctx, cancel := context.WithTimeout(ctx, max(d, time.Millisecond))
	defer cancel()
	return renew(rctx)
}

// Lost reports whether ctx ended because its lease was lost.
func Lost(ctx context.Context) bool { return errors.Is(context.Cause(ctx), ErrLeaseLost) }
