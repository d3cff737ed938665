package app

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Live marks live work (a command, a button, a webhook) as running on this
// instance until the returned func is called. Bulk jobs (archive export
// and import) wait while any runs, so that responders do not share the
// store and the server with them.
func (a *App) Live() (done func()) {
	a.live.Add(1)
	return func() { a.live.Add(-1) }
}

// liveYield bounds how long a bulk job waits for live work before each
// incident it reads or writes: long enough for a command and most of its
// follow-up to finish, short enough that a busy node still makes progress.
const liveYield = 50 * time.Millisecond

// yieldToLive waits while live work runs on this instance, at most
// liveYield.
func (a *App) yieldToLive(ctx context.Context) {
	deadline := time.Now().Add(liveYield)
	for a.live.Load() > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// eachYielding runs fn(i) for every i in [0, n), workers at a time, each
// call after yielding to live work: the bounded pace of bulk jobs. It
// stops handing out calls once ctx ends, and returns the calls' errors
// joined, else ctx's.
func (a *App) eachYielding(ctx context.Context, n, workers int, fn func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				a.yieldToLive(ctx)
				errs[i] = fn(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}
