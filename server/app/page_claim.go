package app

import (
	"context"
	"errors"
	"sync"
	"time"
)

// A claim to send a notification is a lease. Its sender renews it while
// the send runs (a send can take seconds on a slow server), and checks it
// before each post (the fence): a post is made only while the page is
// still pending and the claim is still the sender's. Another instance
// takes a claim over only when its lease ran out and it has itself watched
// the same lease stand still for claimStale: after a paused or slow
// database every instance's clock has moved on while no renewal could
// land, and the first look then must not mistake a live sender for a dead
// one. So a notice is sent twice only when its sender really died (and a
// takeover posts only what it finds missing), and never after an
// acknowledgement or a close that its sender saw.

// claimRenew is how often a sender renews its claim.
const claimRenew = claimStale / 3

// errFenced stops a post: the page was answered or closed, or the claim
// lost, since the send began.
var errFenced = errors.New("the page was acknowledged or closed, or its claim taken over, while it was being sent")

// ErrFenced reports whether err is a post stopped by its fence.
func ErrFenced(err error) bool { return errors.Is(err, errFenced) }

// lease is when the claim was last known alive.
func (s *Sending) lease() time.Time {
	if s.Renewed.After(s.At) {
		return s.Renewed
	}
	return s.At
}

// claimWatch is what an instance saw of a claim: its lease, and when it
// first saw that lease.
type claimWatch struct {
	lease time.Time
	since time.Time
}

// claimDead reports whether claim s on page id may be taken over at now:
// its lease is older than claimStale, and this instance has seen that same
// lease for claimStale. What an instance saw lives in memory only: losing
// it (a restart) only delays a takeover.
func (a *App) claimDead(id string, s *Sending, now time.Time) bool {
	lease := s.lease()
	key := id + "/" + s.Token
	if now.Sub(lease) < claimStale {
		a.claimsSeen.Delete(key)
		return false
	}
	w, loaded := a.claimsSeen.LoadOrStore(key, claimWatch{lease: lease, since: now})
	seen := w.(claimWatch)
	if loaded && !seen.lease.Equal(lease) {
		a.claimsSeen.Store(key, claimWatch{lease: lease, since: now})
		return false
	}
	return now.Sub(seen.since) >= claimStale
}

// forgetClaim drops what this instance saw of a claim that is gone.
func (a *App) forgetClaim(id string, s *Sending) {
	if s != nil {
		a.claimsSeen.Delete(id + "/" + s.Token)
	}
}

// keepClaim renews the claim token on page id every claimRenew until the
// returned stop is called, or the claim is gone.
func (a *App) keepClaim(id, token string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(claimRenew)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			_, _, err := updateDoc(ctx, a.store, pageDoc(id), func(q *Page, exists bool) error {
				if !exists || q.Sending == nil || q.Sending.Token != token {
					return errFenced
				}
				q.Sending.Renewed = a.now()
				return nil
			})
			if errors.Is(err, errFenced) {
				return
			}
			if err != nil && ctx.Err() == nil {
				a.log.Warn().Err(err).Str("page", id).Msg("renew the claim of a page notification")
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// pageFence is the fence of the send of claim token on page id.
func (a *App) pageFence(id, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		q, ok, err := loadDoc[Page](ctx, a.store, pageDoc(id))
		if err != nil {
			return err
		}
		if !ok || !q.Pending() || q.Sending == nil || q.Sending.Token != token {
			return errFenced
		}
		return nil
	}
}

type fenceKey struct{}

// WithFence returns ctx whose effects are fenced by check: the adapters
// call Fence before each post.
func WithFence(ctx context.Context, check func(context.Context) error) context.Context {
	return context.WithValue(ctx, fenceKey{}, check)
}

// Fence checks the fence of ctx, if it has one: an error means the post
// must not be made.
func Fence(ctx context.Context) error {
	check, _ := ctx.Value(fenceKey{}).(func(context.Context) error)
	if check == nil {
		return nil
	}
	return check(ctx)
}
