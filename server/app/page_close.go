package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Closing pages. A page stops without acknowledgement when it is no longer
// useful: its incident was resolved (or removed), or the hotfix it called
// the release manager for ended. Resolve closes the incident's open pages
// in the same request, so that nobody is paged or offered an Acknowledge
// button for a resolved incident a moment longer; the close's timeline
// event follows with the resolution's follow-up (StepClosePages), after
// the resolution itself.

// incidentPages lists the pages of one incident, so that its pages are
// found without reading every page.
type incidentPages struct {
	IDs []string `json:"ids"`
}

// incidentPagesDoc names the list of incidentID's pages.
func incidentPagesDoc(incidentID string) string { return "pages/v1/" + incidentID }

// listPage adds page id to its incident's list, before the page exists:
// a page is never unlisted.
func (a *App) listPage(ctx context.Context, incidentID, id string) error {
	_, _, err := updateDoc(ctx, a.store, incidentPagesDoc(incidentID), func(l *incidentPages, _ bool) error {
		if slices.Contains(l.IDs, id) {
			return errUnchanged
		}
		l.IDs = append(l.IDs, id)
		return nil
	})
	return err
}

// closeIncidentPages closes every open page of inc for why; with note,
// the closes' timeline events are recorded too (each once).
func (a *App) closeIncidentPages(ctx context.Context, inc *incident.Incident, why string, note bool) error {
	l, _, err := loadDoc[incidentPages](ctx, a.store, incidentPagesDoc(inc.ID))
	if err != nil {
		return fmt.Errorf("read the pages of %s: %w", inc.ID, err)
	}
	if l == nil {
		return nil
	}
	var errs []error
	for _, id := range l.IDs {
		if _, err := a.closePage(ctx, id, inc, why, note); err != nil && !errors.Is(err, incident.ErrNotFound) {
			errs = append(errs, fmt.Errorf("close page %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// closePage closes page id for why, if it is still pending, and renders
// its posts without a button; with note it also records the close on the
// timeline (once: CloseOwed marks it owed until it is). A notification
// in flight is not waited for: its sender finds the page closed before
// each post, and renders what it sent. inc may be nil (the incident is
// gone: nothing to note). It returns the page as stored.
func (a *App) closePage(ctx context.Context, id string, inc *incident.Incident, why string, note bool) (*Page, error) {
	now := a.now()
	p, wrote, err := updateDoc(ctx, a.store, pageDoc(id), func(p *Page, exists bool) error {
		if !exists {
			return incident.NotFoundf("page %s no longer exists", id)
		}
		if !p.Pending() {
			return errUnchanged
		}
		p.ClosedAt, p.ClosedWhy, p.CloseOwed = now, why, inc != nil && p.Duty == nil
		if p.Sending != nil && (!p.Sending.Lease.Held() || a.work.Watch().MayTake(pageWatchKey(id), p.Sending.Lease)) {
			p.Orphans = true // its dead sender may have posted
			p.Sending = nil
		}
		p.Due = time.Time{}
		if p.Sending != nil {
			p.Due = now.Add(work.LeaseTTL) // to reap it, should its sender die
		}
		p.Revision++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	if wrote {
		a.log.Info().Str("page", id).Str("why", why).Msg("page closed")
		p = a.adoptOrphans(ctx, p)
		p = a.renderPage(ctx, p, inc)
	}
	if note && p.CloseOwed && inc != nil {
		return a.noteClose(ctx, p)
	}
	return p, nil
}

// noteClose records p's close on the timeline, once, and marks it noted.
func (a *App) noteClose(ctx context.Context, p *Page) (*Page, error) {
	ctx = work.WithOnce(ctx, "page/"+p.ID+"/closed", true, p.ClosedAt)
	t := p.Target()
	ev := incident.NewEvent(p.ClosedAt, incident.ActorSystem, incident.EventPageClosed, fmt.Sprintf("page to <@%s>, unacknowledged: %s", t.UserID, p.ClosedWhy))
	if _, err := a.record(ctx, p.IncidentID, withPageData(ev, p, t, p.Level())); err != nil && !errors.Is(err, incident.ErrNotFound) {
		return p, fmt.Errorf("record the close of page %s: %w", p.ID, err)
	}
	out, _, err := updateDoc(ctx, a.store, pageDoc(p.ID), func(q *Page, exists bool) error {
		if !exists || !q.CloseOwed {
			return errUnchanged
		}
		q.CloseOwed = false
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("mark the close of page %s noted: %w", p.ID, err)
	}
	return out, nil
}
