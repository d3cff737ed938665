package app

import (
	"context"
	"errors"

	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// A claim to send a notification is a lease (Sending.Lease), under the
// one lease rule of package work: its sender renews it while the send
// runs (a send can take seconds on a slow server) and stops once no
// renewal lands; it checks, before each post, that the page is still
// pending and the claim still its own (the fence); another process takes
// a claim over only after watching its lease stand still. So a notice is
// sent twice only when its sender really died (and a takeover posts only
// what it finds missing), and never after an acknowledgement or a close
// that its sender saw.

// kindPage is the work kind of pages: escalations, re-notifications, the
// follow-up of an acknowledgement, the note of a close.
const kindPage = "page"

// errFenced stops a post: the page was answered or closed, or the claim
// lost, since the send began.
var errFenced = errors.New("the page was acknowledged or closed, or its claim taken over, while it was being sent")

// ErrFenced reports whether err is a post stopped by its fence (or by the
// loss of its sender's lease).
func ErrFenced(err error) bool { return errors.Is(err, errFenced) || errors.Is(err, work.ErrLeaseLost) }

// pageWatchKey names a page's claim in the process's lease watch.
func pageWatchKey(id string) string { return kindPage + "/" + id }

// keepClaim renews the claim of owner on page id while the send runs; the
// returned context ends when the claim is lost.
func (a *App) keepClaim(ctx context.Context, id, owner string) (context.Context, func()) {
	return work.Hold(ctx, a.work.Clock(), func(ctx context.Context) (bool, error) {
		_, _, err := updateDoc(ctx, a.store, pageDoc(id), func(q *Page, exists bool) error {
			if !exists || q.Sending == nil || !q.Sending.Lease.HeldBy(owner) {
				return errFenced
			}
			q.Sending.Lease.Renew(a.now())
			return nil
		})
		if errors.Is(err, errFenced) {
			return false, nil
		}
		return err == nil, err
	})
}

// pageFence is the fence of the send of owner's claim on page id.
func (a *App) pageFence(id, owner string) func(context.Context) error {
	return func(ctx context.Context) error {
		q, ok, err := loadDoc[Page](ctx, a.store, pageDoc(id))
		if err != nil {
			return err
		}
		if !ok || !q.Pending() || q.Sending == nil || !q.Sending.Lease.HeldBy(owner) {
			return errFenced
		}
		return nil
	}
}
