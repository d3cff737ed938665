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

// Follow-up work. A change to an incident is committed together with what
// it owes (incident.FollowUp: timeline events, card, posts, pages, ...) in
// one compare-and-set on the incident record, after making the incident's
// entry in workTimers due. The committing instance then wakes the worker,
// which does the follow-up at once; should it die first, the tick finds
// the entry and any instance does it. The worker:
//
//  1. takes the incident's lease (document work/v1/<id>), so that one
//     instance at a time works on an incident and follow-ups run in order;
//  2. appends each follow-up's events and does its steps, every effect
//     keyed so that a retry recognises what an earlier attempt did (see
//     once.go);
//  3. settles the follow-up: removes it from the record (compare-and-set);
//  4. releases the lease, and moves the timer entry to the incident's next
//     status update reminder, or drops it.
//
// A failed attempt releases the lease with a backoff; events are retried
// until they land, other effects (posts) are given up after effectAttempts
// with an error in the log, so that one broken channel cannot block an
// incident's later follow-ups for good.
const (
	// leaseTTL is how long a worker may hold an incident before another
	// instance assumes it died; the holder renews it between follow-ups.
	leaseTTL = 30 * time.Second
	// touchFresh: a writer leaves an entry made due this recently as it
	// is. touchGrace: a worker keeps an entry until this long after it was
	// made due, for the commit that may still follow its touch.
	touchFresh = 10 * time.Second
	touchGrace = 30 * time.Second
	// retryBase doubles with every failed attempt, up to retryMax.
	retryBase = 2 * time.Second
	retryMax  = 5 * time.Minute
	// effectAttempts is how often a failing post or other chat effect is
	// tried before it is given up and logged.
	effectAttempts = 6
	// serviceRounds bounds the drains of one service call; an incident
	// that keeps changing is picked up again by the tick.
	serviceRounds = 8
	// wakeTimeout bounds a background service run.
	wakeTimeout = 2 * time.Minute
)

// workLease is the document work/v1/<incident id>.
type workLease struct {
	Token string    `json:"token,omitempty"`
	Until time.Time `json:"until,omitzero"`
	// Started is the highest follow-up number a worker may have started
	// on: a later attempt looks for the effects of those up to it before
	// making them again.
	Started int `json:"started,omitempty"`
	// Fails counts attempts in a row that failed: the backoff.
	Fails int `json:"fails,omitempty"`
}

func workDoc(id string) string { return "work/v1/" + id }

// errBusy: another worker holds the lease.
var errBusy = errors.New("another worker holds the incident")

// commit applies a change to the incident and stores it with its
// follow-up, then wakes the worker. apply returns the change's events and
// steps; it may run more than once and must have no side effects.
func (a *App) commit(ctx context.Context, id string, apply func(i *incident.Incident, now time.Time) ([]incident.Event, []incident.Step, error)) (*incident.Incident, incident.FollowUp, error) {
	entry, err := a.touchTimer(ctx, workTimers, id, a.now())
	if err != nil {
		return nil, incident.FollowUp{}, err
	}
	var f incident.FollowUp
	inc, err := a.store.UpdateIncident(ctx, id, func(i *incident.Incident) error {
		now := a.now()
		events, steps, err := apply(i, now)
		if err != nil {
			return err
		}
		f, err = i.Owe(now, events, steps...)
		return err
	})
	if err != nil {
		return nil, incident.FollowUp{}, err
	}
	a.wake(id, entry)
	return inc, f, nil
}

// wakers coalesces wake-ups per incident within this instance: one
// goroutine per incident, which runs again if woken meanwhile. Only an
// optimisation; the lease decides who works.
type wakers struct {
	mu      sync.Mutex
	running map[string]*wakeup
}

// wakeup is an incident's pending wake-up: again is set when it was woken
// while running; entry is its timer entry as last touched.
type wakeup struct {
	again bool
	entry slot
}

// wake has the incident's follow-ups done now: in the background, or
// before returning when the app was built with Deps.Inline. entry is the
// incident's timer entry, which the worker moves on when done.
func (a *App) wake(id string, entry slot) {
	if a.hold != nil {
		a.hold(func(ctx context.Context) { a.serviceSafely(ctx, id, entry) })
		return
	}
	if a.inline {
		ctx, cancel := context.WithTimeout(context.Background(), wakeTimeout)
		defer cancel()
		a.serviceSafely(ctx, id, entry)
		return
	}
	a.wakers.mu.Lock()
	if w, ok := a.wakers.running[id]; ok {
		w.again, w.entry = true, entry
		a.wakers.mu.Unlock()
		return
	}
	w := &wakeup{entry: entry}
	a.wakers.running[id] = w
	a.wakers.mu.Unlock()
	a.goBackground(func() {
		for {
			a.wakers.mu.Lock()
			entry := w.entry
			a.wakers.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), wakeTimeout)
			a.serviceSafely(ctx, id, entry)
			cancel()
			a.wakers.mu.Lock()
			if w.again {
				w.again = false
				a.wakers.mu.Unlock()
				continue
			}
			delete(a.wakers.running, id)
			a.wakers.mu.Unlock()
			return
		}
	})
}

// serviceSafely is service with errors logged and a panic turned into a
// log line: it runs in goroutines of its own.
func (a *App) serviceSafely(ctx context.Context, id string, entry slot) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error().Str("incident", id).Interface("panic", r).Msg("follow-up worker panicked")
		}
	}()
	if err := a.service(ctx, id, entry); err != nil {
		a.log.Warn().Err(err).Str("incident", id).Msg("follow-up work failed; retried later")
	}
}

// service does what the incident owes now: its follow-ups and a status
// update reminder when one is due. Then it moves the incident's timer
// entry (seen: where the caller found or put it) to when the incident next
// needs looking at.
func (a *App) service(ctx context.Context, id string, seen slot) error {
	var (
		err     error
		inc     *incident.Incident
		workErr error
		fails   int
	)
	for round := 0; round < serviceRounds; round++ {
		inc, err = a.store.GetIncident(ctx, id)
		if errors.Is(err, incident.ErrNotFound) {
			return a.applyTimers(ctx, workTimers, []dueChange{{id: id, seen: seen}})
		}
		if err != nil {
			return err
		}
		if len(inc.Outbox) == 0 {
			if inc, err = a.remindIfDue(ctx, inc); err != nil {
				workErr = err
				break
			}
			if len(inc.Outbox) == 0 {
				break
			}
		}
		inc, fails, err = a.drain(ctx, inc)
		if errors.Is(err, errBusy) {
			return nil // its holder moves the entry on
		}
		if err != nil {
			workErr = err
			break
		}
	}
	next := time.Time{}
	switch {
	case workErr != nil:
		next = a.now().Add(backoff(fails))
	case inc != nil && len(inc.Outbox) > 0:
		next = a.now() // kept changing: the tick goes on
	case inc != nil:
		next = a.nextReminder(inc)
	}
	if seen.at != 0 {
		if kept := time.UnixMilli(seen.at).Add(touchGrace); kept.After(a.now()) && (next.IsZero() || kept.Before(next)) {
			next = kept
		}
	}
	if seen.at == 0 && next.IsZero() {
		return workErr
	}
	if err := a.applyTimers(ctx, workTimers, []dueChange{{id: id, seen: seen, next: dueMillis(next)}}); err != nil {
		return errors.Join(workErr, err)
	}
	return workErr
}

// backoff is the wait after fails failed attempts in a row.
func backoff(fails int) time.Duration {
	d := retryBase << min(max(fails-1, 0), 10)
	return min(d, retryMax)
}

// drain takes the incident's lease and works off the follow-ups it owes,
// in order, up to the last one inc shows (later ones wait for the next
// round). It returns the incident as last stored and the count of failed
// attempts in a row (0 after a success).
func (a *App) drain(ctx context.Context, inc *incident.Incident) (*incident.Incident, int, error) {
	token := claimToken()
	upTo, earlier := inc.OutboxSeq, 0
	lease, _, err := updateDoc(ctx, a.store, workDoc(inc.ID), func(l *workLease, _ bool) error {
		if l.Token != "" && a.wall().Before(l.Until) {
			return errBusy
		}
		earlier = l.Started
		l.Token, l.Until = token, a.wall().Add(leaseTTL)
		l.Started = max(l.Started, upTo)
		return nil
	})
	if err != nil {
		return inc, 0, err
	}
	// Read again under the lease: a worker that held it until now may have
	// settled some of what inc shows.
	fresh, err := a.store.GetIncident(ctx, inc.ID)
	if err != nil {
		fails, rerr := a.releaseLease(ctx, inc, token, true)
		return inc, fails, errors.Join(err, rerr)
	}
	inc = fresh
	renewed := a.wall()
	lenient := lease.Fails >= effectAttempts-1
	var workErr error
	for _, f := range slices.Clone(inc.Outbox) {
		if f.Num() > upTo {
			break
		}
		if a.wall().Sub(renewed) > leaseTTL/3 {
			if err := a.renewLease(ctx, inc.ID, token); err != nil {
				workErr = err
				break
			}
			renewed = a.wall()
		}
		var settled *incident.Incident
		settled, workErr = a.followUp(ctx, inc, f, f.Num() <= earlier, lenient)
		if workErr != nil {
			break
		}
		inc = settled
	}
	fails, err := a.releaseLease(ctx, inc, token, workErr != nil)
	return inc, fails, errors.Join(workErr, err)
}

// renewLease extends the lease held with token.
func (a *App) renewLease(ctx context.Context, id, token string) error {
	_, _, err := updateDoc(ctx, a.store, workDoc(id), func(l *workLease, _ bool) error {
		if l.Token != token {
			return fmt.Errorf("lost the lease on incident %s", id)
		}
		l.Until = a.wall().Add(leaseTTL)
		return nil
	})
	return err
}

// releaseLease gives the lease up and counts a failed attempt; the
// document goes when nothing is left to remember. It returns the failures in a row.
func (a *App) releaseLease(ctx context.Context, inc *incident.Incident, token string, failed bool) (int, error) {
	fails := 0
	_, _, err := updateDoc(ctx, a.store, workDoc(inc.ID), func(l *workLease, exists bool) error {
		if !exists || l.Token != token {
			return errUnchanged // taken over meanwhile: the new holder decides
		}
		l.Token, l.Until = "", time.Time{}
		if failed {
			l.Fails++
		} else {
			l.Fails = 0
		}
		fails = l.Fails
		started := slices.ContainsFunc(inc.Outbox, func(f incident.FollowUp) bool { return f.Num() <= l.Started })
		if !started && l.Fails == 0 {
			return errDelete // nothing half-done to remember
		}
		return nil
	})
	if err != nil {
		return fails, fmt.Errorf("release the lease on incident %s: %w", inc.ID, err)
	}
	return fails, nil
}

// followUp does one follow-up and settles it; it returns the incident as
// stored afterwards. retry says an earlier attempt may have done some of
// it; lenient gives up failing chat effects instead of failing the
// follow-up.
func (a *App) followUp(ctx context.Context, inc *incident.Incident, f incident.FollowUp, retry, lenient bool) (*incident.Incident, error) {
	since := f.At.Add(-clockSkew)
	for _, ev := range f.Events {
		if _, err := a.appendOnce(ctx, inc.ID, ev, retry, since); err != nil {
			return nil, err
		}
	}
	for i, s := range f.Steps {
		sctx := WithOnce(ctx, fmt.Sprintf("%s/%s/%d", inc.ID, f.ID, i), retry, since)
		if err := a.step(sctx, inc, f, s); err != nil {
			if !lenient {
				return nil, fmt.Errorf("follow-up %s step %s: %w", f.ID, s.Kind, err)
			}
			a.log.Error().Err(err).Str("incident", inc.ID).Str("follow_up", f.ID).Str("step", string(s.Kind)).
				Msg("follow-up step failed too often; given up")
		}
	}
	settled, err := a.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error {
		if !i.Settle(f.ID) {
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return a.store.GetIncident(ctx, inc.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("settle follow-up %s: %w", f.ID, err)
	}
	return settled, nil
}

// clockSkew is how far apart the clocks of a cluster's nodes may be: a
// retry looks for earlier effects from this long before its follow-up.
const clockSkew = time.Minute

// step does one step of follow-up f.
func (a *App) step(ctx context.Context, inc *incident.Incident, f incident.FollowUp, s incident.Step) error {
	switch s.Kind {
	case incident.StepCard:
		if inc.CardPostID == "" {
			id, err := a.chat.PostCard(ctx, inc)
			if err != nil {
				return err
			}
			// Linked at once: its buttons act only on the incident's own
			// card, and people press them as soon as they see it.
			linked, err := a.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error {
				if i.CardPostID != "" {
					return errUnchanged
				}
				i.CardPostID = id
				return nil
			})
			if errors.Is(err, errUnchanged) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("link card: %w", err)
			}
			// The card was rendered before it had its own post id; render
			// it again so its buttons carry the final state.
			return a.chat.UpdateCard(ctx, linked)
		}
		return a.chat.UpdateCard(ctx, inc)
	case incident.StepAnnounce:
		view, bc := a.broadcastFor(inc)
		if bc == "" {
			return nil
		}
		return a.notifier.Announce(ctx, view, bc)
	case incident.StepPublish:
		if s.Event < 0 || s.Event >= len(f.Events) {
			return fmt.Errorf("publish: no event %d", s.Event)
		}
		view, bc := a.broadcastFor(inc)
		return a.notifier.Publish(ctx, view, f.Events[s.Event], bc)
	case incident.StepJoin:
		// A holder outside the incident's team is added to it first; one
		// who cannot be keeps the role, and the incident manager and they
		// are told (see admit). Only those notices are retried.
		return a.admit(ctx, inc, s.User)
	case incident.StepPageStart:
		return a.pageOnStart(ctx, inc, inc.ID+"-s"+f.ID)
	case incident.StepFreeze:
		return a.freezeFollow(ctx, inc)
	case incident.StepPostmortem:
		// Reopened before the worker got here: the next resolution posts
		// the postmortem, not a draft now.
		if a.postmortems == nil || inc.Status != incident.StatusResolved {
			return nil
		}
		return a.PublishPostmortem(ctx, s.User, inc)
	case incident.StepRemind:
		return a.sendReminder(ctx, inc, f, s)
	case incident.StepSummary:
		return a.storeSummary(ctx, inc)
	case incident.StepChecklist:
		return a.stepChecklist(ctx, inc)
	case incident.StepClosePages:
		if inc.Status.Active() {
			return nil // reopened before the worker got here
		}
		return a.closeIncidentPages(ctx, inc, whyResolved, true)
	}
	return fmt.Errorf("unknown follow-up step %q", s.Kind)
}

// appendOnce appends ev (whose Key is set) to the timeline, unless retry
// and an earlier attempt appended it already.
func (a *App) appendOnce(ctx context.Context, incidentID string, ev incident.Event, retry bool, since time.Time) (incident.Event, error) {
	if retry && ev.Key != "" {
		found, err := a.findEvent(ctx, incidentID, ev.Key, since)
		if err != nil {
			return ev, err
		}
		if found != nil {
			return *found, nil
		}
	}
	return a.store.AppendEvent(ctx, incidentID, ev)
}

// findEvent looks for the event with key among those appended since since,
// reading back from the end of the timeline.
func (a *App) findEvent(ctx context.Context, incidentID, key string, since time.Time) (*incident.Event, error) {
	for n := 64; ; n *= 4 {
		tail, err := a.store.TimelineTail(ctx, incidentID, n)
		if err != nil {
			return nil, fmt.Errorf("look for event %s: %w", key, err)
		}
		for i := len(tail) - 1; i >= 0; i-- {
			if tail[i].Key == key {
				return &tail[i], nil
			}
		}
		if len(tail) < n || tail[0].At.Before(since) {
			return nil, nil
		}
	}
}

// serviceDue services every incident whose timer entry is due: follow-ups
// whose committing instance died, retries, and status update reminders.
// Incidents run a few at a time; the rest wait for the next tick when ctx
// ends.
func (a *App) serviceDue(ctx context.Context, now time.Time) error {
	if err := a.seedTimers(ctx); err != nil {
		return err
	}
	entries, err := a.dueBy(ctx, workTimers, now)
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(x, y dueEntry) int { return cmp.Compare(x.at, y.at) })
	sem := make(chan struct{}, serviceWorkers)
	var wg sync.WaitGroup
	for _, e := range entries {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			a.serviceSafely(ctx, e.id, e.slot)
		})
	}
	wg.Wait()
	return nil
}

// serviceWorkers bounds the incidents one tick services at once.
const serviceWorkers = 4

// seedDoc marks that every active incident has its timer entry. Incidents
// started before the timers existed have none; the first tick after an
// upgrade gives them one, once per cluster.
const seedDoc = "work/v1/seeded"

// seedTimers makes every active incident's timer entry due, once.
func (a *App) seedTimers(ctx context.Context) error {
	if a.seeded.Load() {
		return nil
	}
	raw, err := a.store.GetDoc(ctx, seedDoc)
	if err != nil {
		return err
	}
	if raw == nil {
		active, _, err := a.store.ListActive(ctx, 0)
		if err != nil {
			return fmt.Errorf("seed incident timers: %w", err)
		}
		now := a.now()
		for _, inc := range active {
			if _, err := a.touchTimer(ctx, workTimers, inc.ID, now); err != nil {
				return fmt.Errorf("seed incident timers: %w", err)
			}
		}
		if _, err := a.store.CompareAndSetDoc(ctx, seedDoc, nil, []byte(`{"at":"`+now.UTC().Format(time.RFC3339)+`"}`)); err != nil {
			return fmt.Errorf("seed incident timers: %w", err)
		}
		a.log.Info().Int("incidents", len(active)).Msg("seeded incident timers")
	}
	a.seeded.Store(true)
	return nil
}
