package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// pageWorkers bounds the pages one tick works on at once: each costs a few
// KV round trips and posts, and a tick must end well within its timeout.
const pageWorkers = 4

// escalatePages fires the due page timers: for each page whose entry in the
// due index has come, it claims and sends the notification due (an
// escalation or a re-notification), then moves the entry to the page's
// next due time. Tick runs it once per cluster; overlapping runs (two
// nodes, a slow tick) are safe, since only a successful claim sends.
func (a *App) escalatePages(ctx context.Context, now time.Time) error {
	if a.pager == nil {
		return nil
	}
	entries, err := a.dueBy(ctx, pageTimers, now)
	if err != nil {
		return fmt.Errorf("escalate pages: %w", err)
	}
	slices.SortFunc(entries, func(x, y dueEntry) int { return cmp.Compare(x.at, y.at) })

	var (
		mu      sync.Mutex
		changes []dueChange
		errs    []error
		wg      sync.WaitGroup
	)
	sem := make(chan struct{}, pageWorkers)
	for _, e := range entries {
		if ctx.Err() != nil {
			break // the rest stay due for the next tick
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := a.firePageSafely(ctx, e, now)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("page %s: %w", e.id, err))
			}
			if c != nil {
				changes = append(changes, *c)
			}
		})
	}
	wg.Wait()
	if err := a.applyTimers(ctx, pageTimers, changes); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// firePageSafely is firePage with a panic turned into an error: a panic in
// a worker goroutine would otherwise kill the plugin process.
func (a *App) firePageSafely(ctx context.Context, e dueEntry, now time.Time) (c *dueChange, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return a.firePage(ctx, e, now)
}

// firePage does what is due on one page and returns the change to its
// entry (nil: leave it).
func (a *App) firePage(ctx context.Context, e dueEntry, now time.Time) (*dueChange, error) {
	p, ok, err := loadDoc[Page](ctx, a.store, pageDoc(e.id))
	if err != nil {
		return nil, err
	}
	switch {
	case !ok:
		if now.Sub(time.UnixMilli(e.at)) > orphanGrace {
			return &dueChange{id: e.id, seen: e.slot}, nil
		}
		return nil, nil
	case p.AckPending:
		return a.noteAck(ctx, e, now)
	case p.Sending != nil && !a.claimDead(e.id, p.Sending, now):
		return nil, nil // in flight: its claimant moves the entry
	case p.Sending != nil && !p.Pending():
		return a.reapSend(ctx, e, p)
	case !p.Pending() && p.CloseOwed:
		return a.closeFromTick(ctx, e, p.IncidentID, "")
	case !p.Pending() || p.Due.After(now) || p.Due.IsZero():
		return entryChange(e, p), nil
	}
	inc, err := a.pageIncident(ctx, p)
	if errors.Is(err, incident.ErrNotFound) {
		return a.closeFromTick(ctx, e, "", "the incident no longer exists")
	}
	if err != nil {
		return nil, err
	}
	if !inc.Status.Active() {
		return a.closeFromTick(ctx, e, inc.ID, whyResolved)
	}
	if why, ended, err := a.releasePageEnded(ctx, p); err != nil {
		return nil, err
	} else if ended {
		return a.closeFromTick(ctx, e, inc.ID, why)
	}
	claimed, token, err := a.claimPage(ctx, e.id, inc, now)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return entryChange(e, claimed), nil
	}
	done, err := a.deliver(ctx, claimed, inc, token)
	if err != nil {
		return nil, err // the claim stands; it is taken over once stale
	}
	return entryChange(e, done), nil
}

// entryChange moves entry e to what record p needs: its Due while it is
// pending and not being sent, else nothing. A page being sent keeps its
// entry (acknowledged or not): the claimant moves it when it completes,
// and should it die, the entry brings the tick back to take over or reap
// its claim.
func entryChange(e dueEntry, p *Page) *dueChange {
	if p.Sending != nil {
		return nil
	}
	next := int64(0)
	if p.Pending() {
		next = dueMillis(p.Due)
	}
	return &dueChange{id: e.id, seen: e.slot, next: next}
}

// claimPage claims the notification due on page id at now, if any, and
// returns the record as claimed with the claim's token; an empty token
// means nothing was claimed (not due, or someone else has it), and the
// record is then the current one.
func (a *App) claimPage(ctx context.Context, id string, inc *incident.Incident, now time.Time) (*Page, string, error) {
	s := a.settings()
	timeout := s.AckTimeout[inc.Severity]
	token := claimToken()
	var claimed bool
	p, _, err := updateDoc(ctx, a.store, pageDoc(id), func(p *Page, exists bool) error {
		claimed = false
		if !exists {
			return incident.NotFoundf("page %s no longer exists", id)
		}
		if !p.Pending() || p.Due.IsZero() || p.Due.After(now) {
			return errUnchanged
		}
		if p.Sending != nil {
			if !a.claimDead(id, p.Sending, now) {
				return errUnchanged
			}
			// Its claimant died before recording the send: send what
			// is missing of it.
			a.forgetClaim(id, p.Sending)
			since := p.Sending.Since
			if since.IsZero() {
				since = p.Sending.At
			}
			p.Sending = &Sending{Token: token, At: now, Notice: p.Sending.Notice, Since: since, Takeover: true}
			claimed = true
		} else if n, ok := p.advance(inc, timeout, s.Renotify, now); ok {
			p.Sending = &Sending{Token: token, At: now, Notice: n}
			claimed = true
		}
		if claimed {
			p.Due = now.Add(claimStale)
		} else {
			p.Due = p.nextDue(timeout, s.Renotify)
		}
		p.Revision++
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("claim: %w", err)
	}
	if !claimed {
		return p, "", nil
	}
	return p, token, nil
}

// advance moves p to the notification due at now, if any: an escalation
// when the wait at this level is over and someone further along the chain
// holds a role, else a re-notification if one is due. Escalation wins a
// tie: the new target is notified, which is the point of both.
func (p *Page) advance(inc *incident.Incident, timeout, renotify time.Duration, now time.Time) (Notice, bool) {
	escAt, renAt := p.escalateAt(timeout), p.renotifyAt(renotify)
	if !escAt.IsZero() && !escAt.After(now) {
		if t, ok := p.nextTarget(inc); ok {
			t.At = now
			p.Targets = append(p.Targets, t)
			p.WaitFrom, p.NotifiedAt, p.LastFailed = now, now, false
			p.Notices++
			return Notice{Number: p.Notices, Kind: NoticeEscalate, Level: p.Level()}, true
		}
		// Nobody further along holds a role yet: look again after another
		// wait.
		p.WaitFrom = now
	}
	if !renAt.IsZero() && !renAt.After(now) {
		p.NotifiedAt = now
		p.Notices++
		return Notice{Number: p.Notices, Kind: NoticeRenotify, Level: p.Level()}, true
	}
	return Notice{}, false
}

// canEscalate reports whether the chain goes on after the current target.
func (p *Page) canEscalate() bool { return p.Target().Pos < len(incident.EscalationChain)-1 }

// nextTarget returns the next level's target: the first holder further
// along the chain who has not been paged by this page. The chain goes on
// after the current target's role; someone outside it (paged by name, or
// the release manager) is followed by the incident manager.
func (p *Page) nextTarget(inc *incident.Incident) (PageTarget, bool) {
	from := p.Target().Pos + 1
	if p.Target().Pos < 0 {
		from = len(incident.EscalationChain) - 1
	}
	for pos := from; pos < len(incident.EscalationChain); pos++ {
		role := incident.EscalationChain[pos]
		if u := inc.Roles[role]; u != "" && !p.Paged(u) {
			return PageTarget{UserID: u, Role: role, Pos: pos}, true
		}
	}
	return PageTarget{}, false
}

// escalateAt is when the current level's wait ends; zero if it never does.
func (p *Page) escalateAt(timeout time.Duration) time.Time {
	if timeout <= 0 || !p.canEscalate() {
		return time.Time{}
	}
	return p.WaitFrom.Add(timeout)
}

// renotifyAt is when the current target is next notified again; zero if
// never. A notification that reached nobody is retried sooner.
func (p *Page) renotifyAt(renotify time.Duration) time.Time {
	if p.LastFailed && (renotify <= 0 || renotify > sendRetry) {
		renotify = sendRetry
	}
	if renotify <= 0 {
		return time.Time{}
	}
	return p.NotifiedAt.Add(renotify)
}

// nextDue is when the timer next has work on a pending page; zero if never.
func (p *Page) nextDue(timeout, renotify time.Duration) time.Time {
	esc, ren := p.escalateAt(timeout), p.renotifyAt(renotify)
	if esc.IsZero() || !ren.IsZero() && ren.Before(esc) {
		return ren
	}
	return esc
}

// deliver puts the notification claimed on p (with token) on the
// timeline, sends it and completes the claim: it records the posts, clears
// the claim and sets the next due time. It returns the record
// as completed. If the claim was voided meanwhile (an acknowledgement that
// gave up waiting, or a takeover), the posts are still recorded, and the
// posts are re-rendered so that they show the acknowledgement.
func (a *App) deliver(ctx context.Context, p *Page, inc *incident.Incident, token string) (*Page, error) {
	// Once claimed, the notification is finished even past the tick's
	// deadline: a claim left open is sent again when it goes stale.
	ctx = context.WithoutCancel(ctx)
	n, at := p.Sending.Notice, p.Sending.At
	// Keyed by page and notice: a claimant that takes a stale claim over
	// finds what the first one posted, and posts only what is missing.
	since := p.Sending.Since
	if since.IsZero() {
		since = at
	}
	ctx = WithOnce(ctx, fmt.Sprintf("page/%s/%d", p.ID, n.Number), p.Sending.Takeover, since.Add(-clockSkew))
	// The event goes on the timeline before the send (as a page was
	// always recorded, delivered or not): should this instance die while
	// sending, the notice is on the timeline even if the page is closed
	// before anyone takes the claim over, and the keyed event and send of
	// a takeover find what this attempt did.
	stop := a.keepClaim(p.ID, token)
	defer stop()
	if p.Duty != nil {
		if err := a.countDutyNotice(ctx, p, n); err != nil {
			return nil, fmt.Errorf("count notice %d of page %s: %w", n.Number, p.ID, err)
		}
	} else if _, err := a.record(ctx, p.IncidentID, pageEvent(p, n, at)); err != nil {
		return nil, fmt.Errorf("record notice %d of page %s: %w", n.Number, p.ID, err)
	}
	got, sendErr := a.pager.NotifyPage(WithFence(ctx, a.pageFence(p.ID, token)), p, inc, n)
	switch {
	case ErrFenced(sendErr):
		a.log.Info().Str("page", p.ID).Int("notice", n.Number).Int("sent", got.Sent).Msg("page answered or closed while its notification was sent: the rest was not sent")
	case sendErr != nil:
		a.log.Warn().Err(sendErr).Str("page", p.ID).Int("notice", n.Number).Int("sent", got.Sent).Msg("page notification partly or wholly failed")
	}
	if n.Kind == NoticeEscalate && len(p.Posts) > 0 && !ErrFenced(sendErr) {
		// Show the escalation on the earlier posts while the claim holds:
		// an acknowledgement waits for the claim, so its rendering lands
		// after this one.
		if err := a.pager.UpdatePage(ctx, p, inc); err != nil {
			a.log.Warn().Err(err).Str("page", p.ID).Msg("show escalation on earlier page posts")
		}
	}
	s := a.settings()
	timeout := s.AckTimeout[inc.Severity]
	done, _, err := updateDoc(ctx, a.store, pageDoc(p.ID), func(q *Page, exists bool) error {
		if !exists {
			return incident.NotFoundf("page %s no longer exists", p.ID)
		}
		for _, pp := range got.Posts {
			if !q.HasPost(pp.ID) {
				q.Posts = append(q.Posts, pp)
			}
		}
		q.Revision++
		if q.Sending == nil || q.Sending.Token != token {
			return nil // taken over: keep the posts, nothing else is ours
		}
		q.Sending = nil
		if q.Pending() {
			q.LastFailed = got.Sent == 0
			q.Due = q.nextDue(timeout, s.Renotify)
		} else if !q.AckPending {
			q.Due = time.Time{}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("complete notice %d of page %s: %w", n.Number, p.ID, err)
	}
	if !done.Pending() {
		done = a.renderPage(ctx, done, inc)
	}
	return done, nil
}

// closeFromTick closes the page of entry e for why (and notes the close on
// the timeline of incidentID, if any) and returns the change to its entry;
// why "" only notes a close owed.
func (a *App) closeFromTick(ctx context.Context, e dueEntry, incidentID, why string) (*dueChange, error) {
	var inc *incident.Incident
	if incidentID != "" {
		var err error
		if inc, err = a.store.GetIncident(ctx, incidentID); err != nil && !errors.Is(err, incident.ErrNotFound) {
			return nil, err
		}
	}
	if why == "" {
		why = whyResolved // only noted: the page is closed already
	}
	p, err := a.closePage(ctx, e.id, inc, why, true)
	if err != nil {
		return nil, err
	}
	return entryChange(e, p), nil
}

// reapSend clears the claim of a sender that died after the page was
// acknowledged or closed: its posts are adopted and rendered with the rest.
func (a *App) reapSend(ctx context.Context, e dueEntry, p *Page) (*dueChange, error) {
	token := p.Sending.Token
	p, wrote, err := updateDoc(ctx, a.store, pageDoc(e.id), func(q *Page, exists bool) error {
		if !exists || q.Sending == nil || q.Sending.Token != token {
			return errUnchanged
		}
		a.forgetClaim(e.id, q.Sending)
		q.Sending, q.Orphans = nil, true
		if !q.AckPending {
			q.Due = time.Time{}
		}
		q.Revision++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reap the claim of a dead sender: %w", err)
	}
	if wrote {
		inc, err := a.pageIncident(ctx, p)
		if err != nil {
			inc = nil
		}
		p = a.adoptOrphans(ctx, p)
		p = a.renderPage(ctx, p, inc)
	}
	return entryChange(e, p), nil
}
