package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// ErrPageAlreadyAcknowledged is returned, with the page, by AcknowledgePage
// when the page had been acknowledged before; nothing changed.
var ErrPageAlreadyAcknowledged = &incident.Error{Kind: incident.KindConflict, Msg: "this page was already acknowledged"}

// errSendInFlight: a notification of the page is being sent; the
// acknowledgement waits for it.
var errSendInFlight = errors.New("page notification in flight")

// ackWait bounds how long an acknowledgement waits for a notification in
// flight. It is wall time, not the app's clock: it waits on another
// goroutine or instance. A send takes milliseconds, so the bound matters
// only when the sender died; the acknowledgement then voids its claim.
const ackWait = 5 * time.Second

// PageRecord returns the page with id; KindNotFound if there is none.
func (a *App) PageRecord(ctx context.Context, id string) (*Page, error) {
	if !ValidPageID(id) {
		return nil, incident.Invalidf("%q is not a page", id)
	}
	p, ok, err := loadDoc[Page](ctx, a.store, pageDoc(id))
	if err != nil {
		return nil, fmt.Errorf("read page %s: %w", id, err)
	}
	if !ok {
		return nil, incident.NotFoundf("that page no longer exists")
	}
	return p, nil
}

// AcknowledgePage records that actor answers the page: from then on
// nothing more is sent for it. Anyone the page went to may acknowledge,
// and with AnyRotaMemberMayAck anyone on the rota; others get
// KindForbidden and nothing changes. A page acknowledged before is
// returned with ErrPageAlreadyAcknowledged. The page's posts are then
// re-rendered to show who acknowledged and when; a failure there is
// logged, since the acknowledgement itself is stored.
func (a *App) AcknowledgePage(ctx context.Context, actor, id string) (*Page, error) {
	p, err := a.PageRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := a.mayAcknowledge(ctx, p, actor); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(ackWait)
	var (
		wrote, voided bool
		now           time.Time
	)
	for {
		now = a.now()
		waiting := time.Now().Before(deadline)
		p, wrote, err = updateDoc(ctx, a.store, pageDoc(id), func(q *Page, exists bool) error {
			switch {
			case !exists:
				return incident.NotFoundf("that page no longer exists")
			case !q.AckedAt.IsZero():
				return errUnchanged
			case !q.ClosedAt.IsZero():
				return incident.Conflictf("this page was closed without acknowledgement: %s", q.ClosedWhy)
			case q.Sending != nil && now.Sub(q.Sending.At) < claimStale && waiting:
				return errSendInFlight
			}
			voided = q.Sending != nil
			q.AckedAt, q.AckedBy = now, actor
			q.Sending, q.Due = nil, time.Time{}
			q.Revision++
			return nil
		})
		if !errors.Is(err, errSendInFlight) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("acknowledge page %s: %w", id, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("acknowledge page %s: %w", id, err)
	}
	inc, err := a.store.GetIncident(ctx, p.IncidentID)
	if err != nil {
		a.log.Warn().Err(err).Str("page", id).Msg("read the page's incident to render it")
		inc = nil
	}
	// Render even when nothing changed: it repairs posts whose update failed
	// after an earlier acknowledgement.
	p = a.renderPage(ctx, p, inc)
	if !wrote {
		return p, ErrPageAlreadyAcknowledged
	}
	if voided {
		a.log.Warn().Str("page", id).Msg("acknowledgement voided a notification claim that did not finish in time")
	}
	t := p.Target()
	ev := incident.NewEvent(now, actor, incident.EventPageAcknowledged,
		fmt.Sprintf("page to <@%s> (level %d), %s after it was opened", t.UserID, p.Level(), now.Sub(p.CreatedAt).Round(time.Second)))
	_, _ = a.record(ctx, p.IncidentID, withPageData(ev, p, t, p.Level()))
	if err := a.scheduleDue(ctx, id, time.Time{}); err != nil {
		// Harmless: the tick drops entries of acknowledged pages.
		a.log.Warn().Err(err).Str("page", id).Msg("drop timer of acknowledged page")
	}
	a.log.Info().Str("page", id).Str("user", actor).Int("level", p.Level()).Msg("page acknowledged")
	return p, nil
}

// mayAcknowledge checks that actor may acknowledge p.
func (a *App) mayAcknowledge(ctx context.Context, p *Page, actor string) error {
	if p.Paged(actor) {
		return nil
	}
	anyMember := a.settings().AnyRotaMemberMayAck
	if anyMember {
		v, err := a.Rota(ctx)
		if err != nil {
			return fmt.Errorf("read rota: %w", err)
		}
		if onRota(v.Rota, actor, a.now()) {
			return nil
		}
	}
	var people []string
	for _, t := range p.Targets {
		if ref := "<@" + t.UserID + ">"; !slices.Contains(people, ref) {
			people = append(people, ref)
		}
	}
	msg := "only the people this page went to (" + strings.Join(people, ", ") + ")"
	if anyMember {
		msg += " or people on the rota"
	}
	return incident.Forbiddenf("%s can acknowledge it", msg)
}

// onRota reports whether userID is a member of any role's rotation or
// holds an override in force at now.
func onRota(r *rota.Rota, userID string, now time.Time) bool {
	for _, ids := range r.Members {
		if slices.Contains(ids, userID) {
			return true
		}
	}
	for _, o := range r.Overrides {
		if o.UserID == userID && !now.Before(o.From) && now.Before(o.To) {
			return true
		}
	}
	return false
}

// renderPage updates the page's posts to show p, and again while the
// record has moved on meanwhile: whichever rendering lands last re-reads
// the record after it, so the posts end up showing the latest state even
// when an acknowledgement and an escalation render at once. It returns the
// last state rendered. inc may be nil (the incident is gone).
func (a *App) renderPage(ctx context.Context, p *Page, inc *incident.Incident) *Page {
	for range pageRenders {
		if len(p.Posts) == 0 || a.pager == nil {
			return p
		}
		if err := a.pager.UpdatePage(ctx, p, inc); err != nil {
			a.log.Warn().Err(err).Str("page", p.ID).Msg("update page posts")
			return p
		}
		latest, ok, err := loadDoc[Page](ctx, a.store, pageDoc(p.ID))
		if err != nil || !ok || latest.Revision == p.Revision {
			return p
		}
		p = latest
	}
	return p
}
