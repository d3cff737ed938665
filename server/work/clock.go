package work

import (
	"sync"
	"time"
)

// Clock tells the time and waits. Durations between two of its readings
// must be real elapsed time (Go's monotonic reading keeps them so), which
// is all leases rely on.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the system clock, shifted by offset: a test sets an offset
// per node to try clocks that disagree.
func RealClock(offset time.Duration) Clock { return realClock{offset} }

type realClock struct{ offset time.Duration }

func (c realClock) Now() time.Time                         { return time.Now().Add(c.offset) }
func (c realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// MaxClockSkew bounds how far apart the clocks of a cluster's nodes may
// be: the one bound of the plugin. The index keeps reading minutes this far
// back, and a retry looks for the effects of an earlier attempt from this
// long before it.
const MaxClockSkew = time.Minute

// MaxDelay is how late a change's follow-up may be picked up after its
// committing process died: a commit needs no index write while its
// record's Timer is at most this far ahead.
const MaxDelay = 30 * time.Second

// MaxTries is how many runs of a subject (or attempts at one of its items)
// may fail in a row before it is set aside as a dead letter.
const MaxTries = 8

// Backoff is the wait after tries failures in a row: 2 s, doubling, at
// most 5 minutes. Eight tries span about eight and a half minutes.
func Backoff(tries int) time.Duration {
	const base, most = 2 * time.Second, 5 * time.Minute
	if tries < 1 {
		return base
	}
	return min(base<<min(tries-1, 20), most)
}

// FakeClock is a Clock for tests: it stands still until Advance moves it,
// and fires the waits that come due.
type FakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []fakeWait
}

type fakeWait struct {
	at time.Time
	c  chan time.Time
}

// NewFakeClock returns a fake clock at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

// Now is the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After fires when Advance moves the clock d ahead.
func (c *FakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waits = append(c.waits, fakeWait{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock d ahead and fires the waits that came due.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	keep := c.waits[:0]
	var fire []fakeWait
	for _, w := range c.waits {
		if w.at.After(now) {
			keep = append(keep, w)
		} else {
			fire = append(fire, w)
		}
	}
	c.waits = keep
	c.mu.Unlock()
	for _, w := range fire {
		w.c <- now
	}
}

// Set moves the clock to t (forward or back) and fires the waits due.
func (c *FakeClock) Set(t time.Time) { c.Advance(t.Sub(c.Now())) }
