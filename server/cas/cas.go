// Package cas runs compare-and-set loops, the one way this plugin changes
// shared state: read, decide, write only if nothing changed meanwhile, and
// on a lost race read again after a short jittered pause. Every store and
// document writer uses it, so the bound and the backoff are the same
// everywhere.
package cas

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Policy bounds a loop: how many tries, and the pause before each retry,
// which doubles from Base up to Max and is jittered in its upper half so
// that the losers of one race do not all come back at the same instant.
type Policy struct {
	Attempts  int
	Base, Max time.Duration
}

// Default rides out heavy contention: pluginapi's own SetAtomicWithRetries
// gives up after 5 tries, which loses updates once a handful of cluster
// nodes write one key; 50 jittered tries do not.
var Default = Policy{Attempts: 50, Base: 2 * time.Millisecond, Max: 100 * time.Millisecond}

// ErrContended is returned (wrapped) when every try lost its race.
var ErrContended = errors.New("too many concurrent changes")

// Retry runs try until it reports done or returns an error, which comes
// back as is. A try that lost its race returns (false, nil) and is run
// again after a pause; when the tries run out, Retry returns ErrContended.
// A cancelled ctx ends the loop with ctx's error.
func (p Policy) Retry(ctx context.Context, try func() (done bool, err error)) error {
	for attempt := range p.Attempts {
		if attempt > 0 {
			if err := Pause(ctx, p.pause(attempt)); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		done, err := try()
		if err != nil || done {
			return err
		}
	}
	return ErrContended
}

// pause is the wait before retry number attempt (from 1).
func (p Policy) pause(attempt int) time.Duration {
	d := p.Max
	if attempt < 31 {
		d = min(p.Base<<(attempt-1), p.Max)
	}
	return d/2 + rand.N(d/2+1)
}

// Pause waits d, or until ctx is done.
func Pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
