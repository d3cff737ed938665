package harness

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// pollInterval is short because the server answers loopback calls in about a
// millisecond: a longer interval would dominate the run time of e2e tests.
const pollInterval = 25 * time.Millisecond

// Eventually polls cond every 25 ms until it reports true, and fails the test
// with what and the last error if that does not happen within timeout. An error
// from cond does not stop the polling: the state under test is often reachable
// only after transient failures (e.g. a post that does not exist yet).
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := poll(ctx, pollInterval, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// stopPolling wraps an error that makes further polling pointless (the
// server crashed, the plugin failed to start), so poll returns it at once.
type stopPolling struct{ err error }

func (e stopPolling) Error() string { return e.err.Error() }
func (e stopPolling) Unwrap() error { return e.err }

// poll is the context-driven form of Eventually used inside the harness; a
// stopPolling error from cond ends it early. On
// expiry its error carries the last error from cond, which is usually the only
// clue to why the condition never held.
func poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	start := time.Now()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		var stop stopPolling
		if errors.As(err, &stop) {
			return stop.err
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("gave up after %s: %w (last error: %w)", time.Since(start).Round(time.Millisecond), ctx.Err(), lastErr)
			}
			return fmt.Errorf("gave up after %s: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
		case <-ticker.C:
		}
	}
}
