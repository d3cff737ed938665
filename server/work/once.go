package work

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Exactly once in effect. A run may do a step again: after a crash, a
// timeout, a takeover, or an error that struck after the effect landed.
// Every effect a step makes (a timeline event, a post) therefore carries a
// key derived from the step, and a retried step first looks for an effect
// with its key (on the timeline, in the channel) before making it again.
// The scope travels in the context, so that the adapters that post key
// their posts without every port growing a parameter.

type onceKey struct{}

// onceScope is the idempotency scope of one step.
type onceScope struct {
	key string
	// retry is set when an earlier attempt may have made some of the
	// step's effects: only then is it worth looking for them.
	retry bool
	// since is the earliest time an earlier attempt can have acted.
	since time.Time

	mu sync.Mutex
	n  map[string]int // effects keyed so far, per target ("" = timeline)
}

// WithOnce returns ctx with a new idempotency scope: a run opens one per
// step (adapter tests open their own). since is when the step's work was
// first owed; effects are looked for from MaxClockSkew before it.
func WithOnce(ctx context.Context, key string, retry bool, since time.Time) context.Context {
	return context.WithValue(ctx, onceKey{}, &onceScope{key: key, retry: retry, since: since.Add(-MaxClockSkew), n: map[string]int{}})
}

// Once is the idempotency key of the next effect on target (a channel id)
// within the step running in ctx. ok is false outside a step: the effect
// is made as it is. Within a step the keys repeat in the same order on
// every attempt, since a step makes its effects in a fixed order. retry
// says whether an earlier attempt may have made this effect already, and
// since bounds when.
func Once(ctx context.Context, target string) (key string, retry bool, since time.Time, ok bool) {
	s, _ := ctx.Value(onceKey{}).(*onceScope)
	if s == nil {
		return "", false, time.Time{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[target]++
	return s.key + "/" + target + "/" + strconv.Itoa(s.n[target]), s.retry, s.since, true
}

type fenceKey struct{}

// WithFence returns ctx whose effects are fenced by check: the adapters
// call Fence before each post.
func WithFence(ctx context.Context, check func(context.Context) error) context.Context {
	return context.WithValue(ctx, fenceKey{}, check)
}

// Fence checks whether an effect may still be made in ctx: not once the
// lease of the run it belongs to was lost, nor when its fence says no.
func Fence(ctx context.Context) error {
	if Lost(ctx) {
		return ErrLeaseLost
	}
	check, _ := ctx.Value(fenceKey{}).(func(context.Context) error)
	if check == nil {
		return nil
	}
	return check(ctx)
}
