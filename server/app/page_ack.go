package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// ErrPageAlreadyAcknowledged is returned, with the page, by AcknowledgePage
// when the page had been acknowledged before; nothing changed.
var ErrPageAlreadyAcknowledged = &incident.Error{Kind: incident.KindConflict, Msg: "this page was already acknowledged"}

// PageRecord returns the page with id; KindNotFound if there is none.
func (a *App) PageRecord(ctx context.Context, id string) (*Page, error) {
	if !ValidPageID(id) {
		return nil, incident.Invalidf("%q is not a page", id)
	}
	raw, err := a.store.GetDoc(ctx, pageDoc(id))
	if err != nil {
		return nil, fmt.Errorf("read page %s: %w", id, err)
	}
	if raw == nil {
		return nil, incident.NotFoundf("that page no longer exists")
	}
	p := &Page{raw: raw}
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, fmt.Errorf("decode page %s: %w", id, err)
	}
	return p, nil
}

// AcknowledgePage records that actor answers the page: from then on
// nothing more is sent for it. Anyone the page went to may acknowledge,
// and with AnyRotaMemberMayAck anyone on the rota; others get
// KindForbidden and nothing changes. A page acknowledged before is
// returned with ErrPageAlreadyAcknowledged. The acknowledgement's
// follow-up (its timeline event, the page's posts re-rendered to show who
// acknowledged and when) is owed by the record itself, written in the same
// compare-and-set, and done right after by the page's worker (see
// noteAck); the page's timer entry, made due first, finds it again should
// this instance die.
func (a *App) AcknowledgePage(ctx context.Context, actor, id string) (*Page, error) {
	return a.AcknowledgePageFrom(ctx, actor, id, nil)
}

// AcknowledgePageFrom is AcknowledgePage from a button: from, when set,
// checks the page as read (that the clicked post is one of it) before
// anything else, and refuses with its error.
//
// The hot path is two store calls one after the other, the page's read
// and its compare-and-set: the timer entry is armed during the read, and
// the incident is not read. A page still pending on a resolved incident
// (the resolution's close of its pages not done yet, or undone by a
// crash) takes the acknowledgement; the resolution's follow-up closes
// what is left.
func (a *App) AcknowledgePageFrom(ctx context.Context, actor, id string, from func(*Page) error) (*Page, error) {
	if !ValidPageID(id) {
		return nil, incident.Invalidf("%q is not a page", id)
	}
	// Findable before it is stored: should this process die before the
	// acknowledgement's follow-up, the tick does it. An entry armed for an
	// acknowledgement refused after all finds nothing owed.
	armed := make(chan error, 1)
	go func() {
		_, err := a.work.Arm(ctx, kindPage, id)
		armed <- err
	}()
	p, err := a.PageRecord(ctx, id)
	aerr := <-armed
	if err != nil {
		return nil, err
	}
	if from != nil {
		if err := from(p); err != nil {
			return nil, err
		}
	}
	if err := a.mayAcknowledge(ctx, p, actor); err != nil {
		return nil, err
	}
	if !p.Pending() {
		return a.ackRefused(p)
	}
	if aerr != nil {
		// The page's own entry (its next escalation or re-notification)
		// still finds the follow-up should this process die before its
		// wake: the acknowledgement is not refused for the index.
		a.log.Warn().Err(aerr).Str("page", id).Msg("acknowledgement not armed in the due index; its wake and the page's next entry do its follow-up")
	}
	now := a.now()
	// Recorded at once, whatever is being sent: a sender in flight finds
	// the page answered before its next post, and renders what it sent.
	p, _, err = updateDocFrom(ctx, a.store, pageDoc(id), p.raw, func(q *Page, exists bool) error {
		switch {
		case !exists:
			return incident.NotFoundf("that page no longer exists")
		case !q.Pending():
			return errUnchanged
		}
		q.AckedAt, q.AckedBy, q.AckPending = now, actor, true
		q.Due = now
		q.Revision++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("acknowledge page %s: %w", id, err)
	}
	if p.AckedBy != actor || !p.AckedAt.Equal(now) {
		return a.ackRefused(p)
	}
	a.log.Info().Str("page", id).Str("user", actor).Int("level", p.Level()).Msg("page acknowledged")
	a.work.Wake(kindPage, id)
	return p, nil
}

// ackRefused explains why p, acknowledged or closed before, takes no
// acknowledgement.
func (a *App) ackRefused(p *Page) (*Page, error) {
	if !p.AckedAt.IsZero() {
		return p, ErrPageAlreadyAcknowledged
	}
	return nil, incident.Conflictf("This page was closed at %s UTC without acknowledgement, because %s: it needs no acknowledgement any more.",
		p.ClosedAt.UTC().Format("15:04"), p.ClosedWhy)
}

// noteAck does the follow-up of p's acknowledgement, once: it takes the
// acknowledgement's lease on the record, puts the acknowledgement on the
// timeline and re-renders the page's posts (both keyed, so that a
// takeover from a worker that died adds nothing twice), then marks it
// done.
func (a *App) noteAck(ctx context.Context, job work.Job, p *Page) (work.Outcome, error) {
	owner, seen := job.Owner, p.AckLease
	if seen.Held() && !a.work.Watch().MayTake(pageWatchKey(p.ID)+"/ack", seen) {
		return work.Outcome{Busy: true}, nil
	}
	p, claimed, err := updateDoc(ctx, a.store, pageDoc(p.ID), func(q *Page, exists bool) error {
		if !exists || !q.AckPending || q.AckLease != seen {
			return errUnchanged
		}
		q.AckLease.Take(owner, a.now())
		q.Revision++
		return nil
	})
	if err != nil {
		return work.Outcome{}, fmt.Errorf("claim acknowledgement note: %w", err)
	}
	if !claimed {
		if p.AckPending {
			return work.Outcome{Busy: true}, nil // its worker moves on
		}
		return pageOutcome(p), nil
	}
	a.work.Watch().Forget(pageWatchKey(p.ID) + "/ack")
	ctx = work.WithOnce(ctx, "page/"+p.ID+"/ack", seen.Held(), p.AckedAt)
	t := p.Target()
	ev := incident.NewEvent(p.AckedAt, p.AckedBy, incident.EventPageAcknowledged,
		fmt.Sprintf("page to <@%s> (level %d), %s after it was opened", t.UserID, p.Level(), incident.FormatDuration(incident.Elapsed(p.CreatedAt, p.AckedAt))))
	if p.Duty == nil { // a page outside an incident is on no timeline
		if _, err := a.record(ctx, p.IncidentID, withPageData(ev, p, t, p.Level())); err != nil && !errors.Is(err, incident.ErrNotFound) {
			return work.Outcome{}, err // the lease stands still and is taken over
		}
	}
	inc, err := a.pageIncident(ctx, p)
	if err != nil {
		a.log.Warn().Err(err).Str("page", p.ID).Msg("read the page's incident to render it")
		inc = nil
	}
	// Render before the note is marked done: should marking it fail, the
	// next attempt renders again, which is harmless.
	p = a.adoptOrphans(ctx, p)
	a.renderPage(ctx, p, inc)
	done, _, err := updateDoc(ctx, a.store, pageDoc(p.ID), func(q *Page, exists bool) error {
		if !exists || !q.AckLease.HeldBy(owner) {
			return errUnchanged
		}
		q.AckPending, q.Due = false, time.Time{}
		q.AckLease.Release()
		q.Revision++
		return nil
	})
	if err != nil {
		return work.Outcome{}, fmt.Errorf("complete acknowledgement note: %w", err)
	}
	if p.Duty == nil {
		a.noteStatsOf(ctx, p.IncidentID)
	}
	return pageOutcome(done), nil
}

// mayAcknowledge checks that actor may acknowledge p.
func (a *App) mayAcknowledge(ctx context.Context, p *Page, actor string) error {
	if p.Paged(actor) {
		return nil
	}
	anyMember := a.settings().AnyRotaMemberMayAck
	if anyMember {
		inc, err := a.pageIncident(ctx, p)
		if err != nil && !errors.Is(err, incident.ErrNotFound) {
			return fmt.Errorf("read the page's incident: %w", err)
		}
		v, err := a.incidentRota(ctx, inc)
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
		if err != nil || !ok || latest.Revision <= p.Revision {
			return p // an older read never replaces a newer rendering
		}
		p = latest
	}
	return p
}

// adoptOrphans records the posts of a send that an acknowledgement or a
// close voided, so that they are rendered with the rest (a failure is
// logged: the posts then keep their button, which the page refuses). It
// returns the page as stored.
func (a *App) adoptOrphans(ctx context.Context, p *Page) *Page {
	if !p.Orphans || a.pager == nil {
		return p
	}
	found, err := a.pager.PagePosts(ctx, p, p.CreatedAt.Add(-work.MaxClockSkew))
	if err != nil {
		a.log.Warn().Err(err).Str("page", p.ID).Msg("look for the posts of a voided send")
		return p
	}
	out, _, err := updateDoc(ctx, a.store, pageDoc(p.ID), func(q *Page, exists bool) error {
		if !exists || !q.Orphans {
			return errUnchanged
		}
		for _, pp := range found {
			if !q.HasPost(pp.ID) && pp.Level >= 1 && pp.Level <= q.Level() {
				q.Posts = append(q.Posts, pp)
			}
		}
		q.Orphans = false
		q.Revision++
		return nil
	})
	if err != nil {
		a.log.Warn().Err(err).Str("page", p.ID).Msg("record the posts of a voided send")
		return p
	}
	return out
}
