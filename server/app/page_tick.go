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

// orphanGrace is how long an entry without a page record is kept: its
// page may be being created right now.
const orphanGrace = time.Minute

// runPage is the worker of kind "page": it does what is due on the page
// now (an escalation or a re-notification, the follow-up of an
// acknowledgement, the note of a close), and reports the page's next due
// time. Overlapping runs (two nodes, a wake and a tick) are safe: only a
// successful claim sends.
func (a *App) runPage(ctx context.Context, job work.Job) (work.Outcome, error) {
	if a.pager == nil {
		return work.Outcome{}, nil
	}
	// A page's posts are what people wait for most.
	ctx = work.WithPriority(ctx, work.Urgent)
	id, now := job.Key, a.now()
	p, ok, err := loadDoc[Page](ctx, a.store, pageDoc(id))
	if err != nil {
		return work.Outcome{}, err
	}
	switch {
	case !ok:
		// Its page may be being created right now; an entry older than
		// orphanGrace has none coming.
		if job.Entry != nil && now.Sub(job.Entry.Due()) < orphanGrace {
			return work.Outcome{Busy: true}, nil // the entry stays as it is
		}
		return work.Outcome{}, nil
	case p.AckPending:
		return a.noteAck(ctx, job, p)
	case p.Sending != nil && p.Sending.Lease.Held() && !a.work.Watch().MayTake(pageWatchKey(id), p.Sending.Lease):
		return work.Outcome{Busy: true}, nil // in flight: its sender moves on
	case p.Sending != nil && !p.Pending():
		return a.reapSend(ctx, p)
	case !p.Pending() && p.CloseOwed:
		return a.closeFromTick(ctx, p.ID, p.IncidentID, "")
	case !p.Pending():
		return work.Outcome{}, nil
	case p.Sending == nil && (p.Due.IsZero() || p.Due.After(now)):
		return work.Outcome{Next: p.Due}, nil
	}
	inc, err := a.pageIncident(ctx, p)
	if errors.Is(err, incident.ErrNotFound) {
		return a.closeFromTick(ctx, id, "", "the incident no longer exists")
	}
	if err != nil {
		return work.Outcome{}, err
	}
	if !inc.Status.Active() {
		return a.closeFromTick(ctx, id, inc.ID, whyResolved)
	}
	if why, ended, err := a.releasePageEnded(ctx, p); err != nil {
		return work.Outcome{}, err
	} else if ended {
		return a.closeFromTick(ctx, id, inc.ID, why)
	}
	if p.Duty != nil && p.dutyGivenUp(a.ackTimeout(inc, p)) {
		return a.closeFromTick(ctx, id, "", dutyGiveUpWhy(p))
	}
	claimed, owner, err := a.claimPage(ctx, id, inc, now, job.Owner)
	if err != nil {
		return work.Outcome{}, err
	}
	if owner == "" {
		if claimed.Sending != nil {
			return work.Outcome{Busy: true}, nil
		}
		return work.Outcome{Next: claimed.Due}, nil
	}
	done, err := a.deliver(ctx, claimed, inc, owner)
	if err != nil {
		return work.Outcome{}, err // the claim stands; it is taken over once its lease stands still
	}
	return work.Outcome{Next: done.Due}, nil
}

// claimPage claims the notification due on page id at now, if any, and
// returns the record as claimed with the claim's token; an empty token
// means nothing was claimed (not due, or someone else has it), and the
// record is then the current one.
func (a *App) claimPage(ctx context.Context, id string, inc *incident.Incident, now time.Time, owner string) (*Page, string, error) {
	s := a.settings()
	var claimed bool
	var woken []int // levels whose delivery beyond the chat is due
	p, _, err := updateDoc(ctx, a.store, pageDoc(id), func(p *Page, exists bool) error {
		claimed, woken = false, nil
		if !exists {
			return incident.NotFoundf("page %s no longer exists", id)
		}
		if !p.Pending() {
			return errUnchanged
		}
		if p.Sending != nil {
			if p.Sending.Lease.Held() && !a.work.Watch().MayTake(pageWatchKey(id), p.Sending.Lease) {
				return errUnchanged
			}
			// Its sender died before recording the send: send what is
			// missing of it.
			since := p.Sending.Since
			if since.IsZero() {
				since = now
			}
			lease := p.Sending.Lease
			lease.Take(owner, now)
			p.Sending = &Sending{Lease: lease, Notice: p.Sending.Notice, Since: since, Takeover: true}
			claimed = true
		} else if p.Due.IsZero() || p.Due.After(now) {
			return errUnchanged
		} else {
			woken = p.owedDue(now)
			if n, ok := p.advance(inc, a.ackTimeout(inc, p), s.Renotify, now); ok {
				p.Sending = &Sending{Notice: n, Since: now}
				p.Sending.Lease.Take(owner, now)
				claimed = true
			}
		}
		if claimed {
			p.Due = now.Add(work.LeaseTTL)
		} else {
			p.Due = p.nextDue(a.ackTimeout(inc, p), s.Renotify)
		}
		p.Revision++
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("claim: %w", err)
	}
	for _, level := range woken {
		a.work.Wake(kindReach, reachKey(id, level))
	}
	if !claimed {
		return p, "", nil
	}
	a.work.Watch().Forget(pageWatchKey(id))
	return p, owner, nil
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
			p.LevelNotices = 1
			return Notice{Number: p.Notices, Kind: NoticeEscalate, Level: p.Level()}, true
		}
		// Nobody further along holds a role yet: look again after another
		// wait.
		p.WaitFrom = now
	}
	if !renAt.IsZero() && !renAt.After(now) {
		p.NotifiedAt = now
		p.Notices++
		p.LevelNotices++
		return Notice{Number: p.Notices, Kind: NoticeRenotify, Level: p.Level()}, true
	}
	return Notice{}, false
}

// canEscalate reports whether anyone may come after the current target:
// further along the chain, in a run of it still to come, or in the
// policy's last step.
func (p *Page) canEscalate() bool {
	t := p.Target()
	return t.Round <= p.Repeat && (t.Pos < len(incident.EscalationChain)-1 || t.Round < p.Repeat) || len(p.lastLeft()) > 0
}

// lastLeft are the people of the policy's last step not paged in it yet.
func (p *Page) lastLeft() []string {
	var out []string
	for _, u := range p.Last {
		if !p.pagedIn(u, p.Repeat+1) {
			out = append(out, u)
		}
	}
	return out
}

// pagedIn reports whether u was paged in round r of this page.
func (p *Page) pagedIn(u string, r int) bool {
	return slices.ContainsFunc(p.Targets, func(t PageTarget) bool { return t.UserID == u && t.Round == r })
}

// nextTarget returns the next level's target: the first holder further
// along the chain who has not been paged in this run of it; after the
// chain's end, its first holder in the next run, while the policy repeats
// it; then the last step's people, one after another. The chain goes on
// after the current target's role; someone outside it (paged by name, or
// the release manager) is followed by the incident manager.
func (p *Page) nextTarget(inc *incident.Incident) (PageTarget, bool) {
	cur, chain := p.Target(), incident.EscalationChain
	if cur.Round <= p.Repeat {
		from := cur.Pos + 1
		if cur.Pos < 0 {
			from = len(chain) - 1
		}
		for pos := from; pos < len(chain); pos++ {
			if u := inc.Roles[chain[pos]]; u != "" && !p.pagedIn(u, cur.Round) {
				return PageTarget{UserID: u, Role: chain[pos], Pos: pos, Round: cur.Round}, true
			}
		}
		if cur.Round < p.Repeat {
			for pos, role := range chain {
				if u := inc.Roles[role]; u != "" {
					return PageTarget{UserID: u, Role: role, Pos: pos, Round: cur.Round + 1}, true
				}
			}
		}
	}
	if left := p.lastLeft(); len(left) > 0 {
		return PageTarget{UserID: left[0], Pos: len(chain), Round: p.Repeat + 1}, true
	}
	return PageTarget{}, false
}

// escalateAt is when the current level's wait ends; zero if it never does.
// In the policy's last step the next person follows at once.
func (p *Page) escalateAt(timeout time.Duration) time.Time {
	if timeout <= 0 || !p.canEscalate() {
		return time.Time{}
	}
	if p.Target().Pos >= len(incident.EscalationChain) {
		return p.WaitFrom
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
// A delivery beyond the chat owed counts (see reach.go).
func (p *Page) nextDue(timeout, renotify time.Duration) time.Time {
	esc, ren := p.escalateAt(timeout), p.renotifyAt(renotify)
	due := esc
	if esc.IsZero() || !ren.IsZero() && ren.Before(esc) {
		due = ren
	}
	for _, o := range p.Owed {
		if due.IsZero() || o.At.Before(due) {
			due = o.At
		}
	}
	return due
}

// deliver puts the notification claimed on p (by owner) on the timeline,
// sends it and completes the claim: it records the posts, clears the claim
// and sets the next due time. It returns the record as completed. If the
// claim was voided meanwhile (an acknowledgement, or a takeover), the
// posts are still recorded, and re-rendered so that they show the
// acknowledgement.
func (a *App) deliver(ctx context.Context, p *Page, inc *incident.Incident, owner string) (*Page, error) {
	// Once claimed, the notification is finished even past the tick's
	// deadline: a claim left open is sent again when it goes stale.
	ctx = context.WithoutCancel(ctx)
	n, at := p.Sending.Notice, p.Sending.Lease.At
	// Keyed by page and notice: a claimant that takes a stale claim over
	// finds what the first one posted, and posts only what is missing.
	since := p.Sending.Since
	if since.IsZero() {
		since = at
	}
	key := fmt.Sprintf("page/%s/%d", p.ID, n.Number)
	var (
		got     Delivery
		sendErr error
	)
	for attempt, retry := 1, p.Sending.Takeover; ; attempt, retry = attempt+1, true {
		sctx := work.WithOnce(ctx, key, retry, since)
		hctx, stop := a.keepClaim(sctx, p.ID, owner)
		d, err := a.sendNotice(hctx, p, inc, n, at, owner)
		stop()
		got.Posts, got.Sent, sendErr = append(got.Posts, d.Posts...), got.Sent+d.Sent, err
		// Lost only because no renewal could land (a paused database), and
		// still ours: go on where it stopped; the posts made are found by
		// their keys.
		if !work.Lost(hctx) || attempt == 3 || !a.reclaimPage(ctx, p.ID, owner) {
			break
		}
		a.log.Info().Str("page", p.ID).Int("notice", n.Number).Msg("the claim of a page notification stood still and is still ours: sending the rest")
	}
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
	timeout := a.ackTimeout(inc, p)
	// Owed beyond the chat too? Decided before the completion, which
	// records it on the page (one read here; no index write).
	reach := n.Kind != NoticeRenotify && got.Sent > 0 && a.reaches(ctx, p, n.Level)
	owed := false
	// Completed even when the lease was lost meanwhile: the posts made are
	// recorded either way, and the claim is cleared only if still ours.
	done, _, err := updateDoc(context.WithoutCancel(ctx), a.store, pageDoc(p.ID), func(q *Page, exists bool) error {
		if !exists {
			return incident.NotFoundf("page %s no longer exists", p.ID)
		}
		for _, pp := range got.Posts {
			if !q.HasPost(pp.ID) {
				q.Posts = append(q.Posts, pp)
			}
		}
		q.Revision++
		if q.Sending == nil || !q.Sending.Lease.HeldBy(owner) {
			return nil // taken over: keep the posts, nothing else is ours
		}
		q.Sending = nil
		if q.Pending() {
			q.LastFailed = got.Sent == 0
			owed = reach && q.owe(n.Level, a.now())
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
	} else if owed {
		a.work.Wake(kindReach, reachKey(p.ID, n.Level))
	}
	if p.Duty == nil && n.Kind != NoticeRenotify {
		a.noteStatsOf(ctx, p.IncidentID)
	}
	return done, nil
}

// sendNotice records notice n on the timeline (keyed: the event goes on
// before the send, as a page was always recorded, delivered or not) and
// sends it, fenced by the claim of owner.
func (a *App) sendNotice(ctx context.Context, p *Page, inc *incident.Incident, n Notice, at time.Time, owner string) (Delivery, error) {
	if p.Duty != nil {
		if err := a.countDutyNotice(ctx, p, n); err != nil {
			return Delivery{}, fmt.Errorf("count notice %d of page %s: %w", n.Number, p.ID, err)
		}
	} else if _, err := a.record(ctx, p.IncidentID, pageEvent(p, n, at)); err != nil {
		return Delivery{}, fmt.Errorf("record notice %d of page %s: %w", n.Number, p.ID, err)
	}
	return a.pager.NotifyPage(work.WithFence(ctx, a.pageFence(p.ID, owner)), p, inc, n)
}

// reclaimPage renews owner's claim on page id if it is still theirs.
func (a *App) reclaimPage(ctx context.Context, id, owner string) bool {
	_, wrote, err := updateDoc(ctx, a.store, pageDoc(id), func(q *Page, exists bool) error {
		if !exists || !q.Pending() || q.Sending == nil || !q.Sending.Lease.HeldBy(owner) {
			return errUnchanged
		}
		q.Sending.Lease.Renew(a.now())
		return nil
	})
	return err == nil && wrote
}

// closeFromTick closes page id for why (and notes the close on the
// timeline of incidentID, if any); why "" only notes a close owed.
func (a *App) closeFromTick(ctx context.Context, id, incidentID, why string) (work.Outcome, error) {
	var inc *incident.Incident
	if incidentID != "" {
		var err error
		if inc, err = a.store.GetIncident(ctx, incidentID); err != nil && !errors.Is(err, incident.ErrNotFound) {
			return work.Outcome{}, err
		}
	}
	if why == "" {
		why = whyResolved // only noted: the page is closed already
	}
	p, err := a.closePage(ctx, id, inc, why, true)
	if err != nil {
		return work.Outcome{}, err
	}
	return pageOutcome(p), nil
}

// pageOutcome is when page p next needs its worker: while a send is in
// flight, at its takeover time (to reap it, should its sender die); while
// pending, at its Due.
func pageOutcome(p *Page) work.Outcome {
	switch {
	case p.Sending != nil:
		return work.Outcome{Next: p.Sending.Lease.At.Add(work.LeaseTTL)}
	case p.AckPending:
		return work.Outcome{Next: p.AckLease.At.Add(work.LeaseTTL)}
	case p.Pending():
		return work.Outcome{Next: p.Due}
	}
	return work.Outcome{}
}

// reapSend clears the claim of a sender that died after the page was
// acknowledged or closed: its posts are adopted and rendered with the rest.
func (a *App) reapSend(ctx context.Context, p *Page) (work.Outcome, error) {
	lease := p.Sending.Lease
	p, wrote, err := updateDoc(ctx, a.store, pageDoc(p.ID), func(q *Page, exists bool) error {
		if !exists || q.Sending == nil || q.Sending.Lease != lease {
			return errUnchanged
		}
		q.Sending, q.Orphans = nil, true
		if !q.AckPending {
			q.Due = time.Time{}
		}
		q.Revision++
		return nil
	})
	if err != nil {
		return work.Outcome{}, fmt.Errorf("reap the claim of a dead sender: %w", err)
	}
	if wrote {
		a.work.Watch().Forget(pageWatchKey(p.ID))
		inc, err := a.pageIncident(ctx, p)
		if err != nil {
			inc = nil
		}
		p = a.adoptOrphans(ctx, p)
		p = a.renderPage(ctx, p, inc)
	}
	return pageOutcome(p), nil
}

// dutyRenotices is how often a page outside any incident notifies the last
// holder of its chain before it gives up: nobody is asked forever for
// something no incident tracks.
const dutyRenotices = 3

// dutyGivenUp reports whether a page outside any incident has asked
// everyone it can, as often as it may.
func (p *Page) dutyGivenUp(timeout time.Duration) bool {
	return p.Duty != nil && (!p.canEscalate() || timeout <= 0) && p.LevelNotices > dutyRenotices
}

// dutyGiveUpWhy is why a page outside any incident closed unanswered.
func dutyGiveUpWhy(p *Page) string {
	return fmt.Sprintf("nobody acknowledged it after %d notifications; open an incident if it still needs someone", p.Notices)
}
