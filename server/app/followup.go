package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Follow-up work. A change to an incident is committed together with what
// it owes (incident.FollowUp: timeline events, card, posts, pages, ...) in
// one compare-and-set on the incident record, which is findable in the
// work index before it lands (the record's Timer, see package work). The
// committing process then wakes the incident's worker (kind "inc"), which
// does the follow-up at once; should it die first, the tick finds the
// entry and any process does it. The worker:
//
//  1. takes the incident's lease in the record, and fences the batch it
//     starts on (Started): everything owed up to now;
//  2. appends the batch's events in one timeline write and does its steps
//     coalesced: the card rendered once, the status updates of a burst in
//     one post per channel, one freeze step, one summary; every effect is
//     keyed, so that a retry recognises what an earlier attempt did;
//  3. settles the batch in one write: removes it from the record, and
//     either goes on with what arrived meanwhile or releases the lease.
//
// A batch that fails is retried with backoff; from its second failure its
// follow-ups go one at a time, so that a poison follow-up is isolated, and
// after work.MaxTries it is set aside as a dead letter (the admins are
// told) instead of holding up the ones after it.

const kindIncident = "inc"

// workRounds bounds the batches of one run; an incident that keeps
// changing is picked up again at once (a woken run goes on in the engine's
// wake loop; a tick's run is due again at the next tick).
const workRounds = 8

// helpRounds bounds how often a commit that finds the outbox over
// incident.OutboxBytes drains it itself before committing anyway.
const helpRounds = 3

// splitAfter is the failures after which a follow-up is tried alone.
const splitAfter = 1

var (
	// errArm: the record is not findable in the work index; arm it first.
	errArm = errors.New("arm the incident in the work index first")
	// errOutboxFull: the outbox is over its size; help drain it first.
	errOutboxFull = errors.New("the outbox is full")
	// errBusy: another worker holds the incident.
	errBusy = errors.New("another worker holds the incident")
	// errLeaseLost: this worker's lease was taken over.
	errLeaseLost = errors.New("the incident's lease was taken over")
)

// commit applies a change to the incident and stores it with its
// follow-up, then wakes the worker. apply returns the change's events and
// steps; it may run more than once and must have no side effects. A
// change is never refused because the worker is behind.
func (a *App) commit(ctx context.Context, id string, apply func(i *incident.Incident, now time.Time) ([]incident.Event, []incident.Step, error)) (*incident.Incident, incident.FollowUp, error) {
	var f incident.FollowUp
	inc, err := a.commitWith(ctx, id, func(i *incident.Incident, now time.Time) error {
		events, steps, err := apply(i, now)
		if err != nil {
			return err
		}
		f = i.Owe(now, events, steps...)
		return nil
	})
	return inc, f, err
}

// commitWith stores a change that leaves the incident owing work: owe
// changes the record (it may run more than once and must have no side
// effects). The record is made findable in the work index first when it
// is not (see package work), a full outbox is helped along first, and the
// worker is woken after.
func (a *App) commitWith(ctx context.Context, id string, owe func(i *incident.Incident, now time.Time) error) (*incident.Incident, error) {
	var (
		armed int64
		help  int
	)
	for {
		inc, err := a.store.UpdateIncident(ctx, id, func(i *incident.Incident) error {
			if !a.work.Armed(i.Timer) {
				if armed == 0 {
					return errArm
				}
				i.Timer = armed
			}
			if help < helpRounds && outboxOver(i) {
				return errOutboxFull
			}
			return owe(i, a.now())
		})
		switch {
		case errors.Is(err, errArm):
			if armed, err = a.work.Arm(ctx, kindIncident, id); err != nil {
				return nil, fmt.Errorf("change incident %s: %w", id, err)
			}
			continue
		case errors.Is(err, errOutboxFull):
			help++
			if _, err := a.work.Run(ctx, kindIncident, id); err != nil {
				a.log.Warn().Err(err).Str("incident", id).Msg("drain a full outbox before a change")
			}
			continue
		case err != nil:
			return nil, err
		}
		a.work.Wake(kindIncident, id)
		return inc, nil
	}
}

// outboxOver reports whether the incident's outbox is over
// incident.OutboxBytes; small outboxes are not measured.
func outboxOver(i *incident.Incident) bool {
	if len(i.Outbox) < 16 {
		return false
	}
	b, err := json.Marshal(i.Outbox)
	return err == nil && len(b) > incident.OutboxBytes
}

// runIncident is the worker of kind "inc": it does what incident job.Key
// owes now, its follow-ups and a status update reminder when one is due,
// and reports when it next needs a look.
func (a *App) runIncident(ctx context.Context, job work.Job) (work.Outcome, error) {
	id := job.Key
	inc, err := a.store.GetIncident(ctx, id)
	if errors.Is(err, incident.ErrNotFound) {
		return work.Outcome{}, nil
	}
	if err != nil {
		return work.Outcome{}, err
	}
	watchKey := kindIncident + "/" + id
	if inc.Lease.Held() && !a.work.Watch().MayTake(watchKey, inc.Lease) {
		return work.Outcome{Busy: true}, nil
	}
	now := a.now()
	if len(ready(inc.Outbox, now)) == 0 && !a.reminderDue(inc, now) && !inc.Lease.Held() {
		return a.idle(ctx, job, inc)
	}

	// Take the lease, owe a reminder that is due in the same write, and
	// fence the batch.
	owner, seen, earlier := job.Owner, inc.Lease, 0
	inc, err = a.store.UpdateIncident(ctx, id, func(i *incident.Incident) error {
		if i.Lease.Held() && i.Lease != seen {
			return errBusy // taken or renewed since we looked
		}
		now := a.now()
		i.Lease.Take(owner, now)
		a.oweReminder(i, now)
		earlier = i.Started
		i.Started = i.OutboxSeq
		return nil
	})
	if errors.Is(err, errBusy) {
		return work.Outcome{Busy: true}, nil
	}
	if err != nil {
		return work.Outcome{}, fmt.Errorf("take incident %s: %w", id, err)
	}
	a.work.Watch().Forget(watchKey)
	hctx, stop := work.Hold(ctx, a.work.Clock(), func(ctx context.Context) (bool, error) {
		return a.renewIncident(ctx, id, owner)
	})
	defer stop()

	for round := 0; ; round++ {
		batch := nextBatch(inc, a.now())
		var batchErr error
		if len(batch) > 0 {
			batchErr = a.doBatch(hctx, inc, batch, earlier)
		}
		var last bool
		inc, last, err = a.settle(ctx, job, owner, batch, batchErr, inc.CardShown, round+1 >= workRounds)
		if err != nil {
			return work.Outcome{}, err
		}
		if batchErr != nil {
			a.log.Warn().Err(batchErr).Str("incident", id).Int("follow_ups", len(batch)).Msg("follow-up work failed; retried with backoff")
		}
		if last {
			break
		}
	}
	return work.Outcome{Next: a.nextLook(inc)}, nil
}

// idle is a run that finds nothing owed: it clears the record's Timer when
// the run's entry covers it, and reports the next reminder.
func (a *App) idle(ctx context.Context, job work.Job, inc *incident.Incident) (work.Outcome, error) {
	if !job.Clears(inc.Timer) {
		return work.Outcome{Next: a.nextLook(inc)}, nil
	}
	again := false
	out, err := a.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error {
		if !job.Clears(i.Timer) {
			return errUnchanged
		}
		if len(i.Outbox) > 0 || i.Lease.Held() {
			again = true // a change landed meanwhile: look again at once
			return errUnchanged
		}
		i.Timer = 0
		return nil
	})
	switch {
	case errors.Is(err, errUnchanged):
		out = inc
	case err != nil:
		return work.Outcome{}, fmt.Errorf("clear the timer of incident %s: %w", inc.ID, err)
	}
	if again {
		return work.Outcome{Next: a.now()}, nil
	}
	return work.Outcome{Next: a.nextLook(out)}, nil
}

// renewIncident renews owner's lease on incident id.
func (a *App) renewIncident(ctx context.Context, id, owner string) (bool, error) {
	_, err := a.store.UpdateIncident(ctx, id, func(i *incident.Incident) error {
		if !i.Lease.HeldBy(owner) {
			return errLeaseLost
		}
		i.Lease.Renew(a.now())
		return nil
	})
	if errors.Is(err, errLeaseLost) {
		return false, nil
	}
	return err == nil, err
}

// ready returns the follow-ups that may be tried at now: not waiting out
// a backoff.
func ready(outbox []incident.FollowUp, now time.Time) []incident.FollowUp {
	var out []incident.FollowUp
	for _, f := range outbox {
		if f.RetryAt.IsZero() || !f.RetryAt.After(now) {
			out = append(out, f)
		}
	}
	return out
}

// nextBatch is the follow-ups the worker does next, in order: those up to
// Started that may be tried now; one alone when it has failed before.
func nextBatch(inc *incident.Incident, now time.Time) []incident.FollowUp {
	var batch []incident.FollowUp
	for _, f := range ready(inc.Outbox, now) {
		if f.Num() > inc.Started {
			break
		}
		if f.Tries >= splitAfter {
			if len(batch) == 0 {
				return []incident.FollowUp{f}
			}
			break // the fresh ones before it go first, together
		}
		batch = append(batch, f)
	}
	return batch
}

// settle records the outcome of a batch in one write: done follow-ups
// leave the outbox, failed ones count a try and wait out a backoff, and
// those that failed work.MaxTries times are set aside as dead letters
// (stored before they leave the record, so that nothing is lost). Then it
// either fences the next batch, keeping the lease (last false), or
// releases it (last true). shown is what the card shows now (see
// cardStep), stored with the rest.
func (a *App) settle(ctx context.Context, job work.Job, owner string, batch []incident.FollowUp, failed error, shown string, final bool) (*incident.Incident, bool, error) {
	id := job.Key
	ids := map[string]bool{}
	for _, f := range batch {
		ids[f.ID] = true
	}
	// A batch stopped only because its lease could not be renewed (a
	// paused database) did not fail: it goes on at once, untried.
	stalled := errors.Is(failed, work.ErrLeaseLost)
	if failed != nil && !stalled {
		for _, f := range batch {
			if f.Tries+1 < work.MaxTries {
				continue
			}
			body, _ := json.Marshal(f)
			if err := a.work.SetAside(ctx, work.DeadLetter{Kind: kindIncident, Key: id, Item: "follow-up " + f.ID,
				Error: failed.Error(), Tries: f.Tries + 1, Body: body}); err != nil {
				return nil, false, fmt.Errorf("set aside follow-up %s of %s: %w", f.ID, id, err)
			}
		}
	}
	var last bool
	inc, err := a.store.UpdateIncident(ctx, id, func(i *incident.Incident) error {
		if !i.Lease.HeldBy(owner) {
			return errLeaseLost
		}
		now := a.now()
		kept := i.Outbox[:0:0]
		for _, f := range i.Outbox {
			switch {
			case !ids[f.ID]:
				kept = append(kept, f)
			case failed == nil:
			case stalled:
				kept = append(kept, f)
			case f.Tries+1 >= work.MaxTries:
				// set aside above
			default:
				f.Tries++
				f.RetryAt = now.Add(work.Backoff(f.Tries)).UTC()
				kept = append(kept, f)
			}
		}
		i.Outbox = kept
		if shown != "" {
			i.CardShown = shown
		}
		if failed == nil && !final && len(nextBatch(&incident.Incident{Outbox: kept, Started: i.OutboxSeq}, now)) > 0 {
			i.Started = i.OutboxSeq // more arrived: the next batch, same lease
			last = false
			return nil
		}
		i.Lease.Release()
		if len(i.Outbox) == 0 && job.Clears(i.Timer) {
			i.Timer = 0
		}
		last = true
		return nil
	})
	if errors.Is(err, errLeaseLost) {
		return nil, true, fmt.Errorf("settle follow-ups of %s: %w", id, err)
	}
	if err != nil {
		return nil, true, fmt.Errorf("settle follow-ups of %s: %w", id, err)
	}
	return inc, last, nil
}

// nextLook is when the incident next needs its worker: at once if it
// still owes follow-ups that may be tried, when the first backoff ends,
// else at its next status update reminder.
func (a *App) nextLook(inc *incident.Incident) time.Time {
	next := a.nextReminder(inc)
	for _, f := range inc.Outbox {
		at := f.RetryAt
		if at.IsZero() {
			at = a.now()
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

// doBatch appends the batch's events in one write and does its steps,
// coalesced (see plan). earlier is the highest follow-up an earlier
// worker started on: its effects may exist already and are looked for.
func (a *App) doBatch(ctx context.Context, inc *incident.Incident, batch []incident.FollowUp, earlier int) error {
	retry := slices.ContainsFunc(batch, func(f incident.FollowUp) bool { return f.Num() <= earlier || f.Tries > 0 || f.Retry })
	since := batch[0].At
	var events []incident.Event
	for _, f := range batch {
		events = append(events, f.Events...)
	}
	if err := a.appendKeyed(ctx, inc.ID, events, retry, since); err != nil {
		return err
	}
	var errs []error
	steps := plan(batch)
	later := &statsLater{id: inc.ID}
	ctx = context.WithValue(ctx, statsLaterKey{}, later)
	for _, p := range steps {
		sctx := work.WithPriority(work.WithOnce(ctx, p.onceKey(inc.ID), retry, since), stepPriority[p.Kind])
		if err := a.step(sctx, inc, p); err != nil {
			errs = append(errs, fmt.Errorf("step %s of follow-up %s: %w", p.Kind, p.from.ID, err))
		}
		if work.Lost(ctx) {
			return errors.Join(append(errs, work.ErrLeaseLost)...)
		}
	}
	// The figures follow every change that moves them, as if each had
	// planned the summary step.
	summarised := slices.ContainsFunc(steps, func(p planned) bool { return p.Kind == incident.StepSummary })
	if !summarised && (later.owed || slices.ContainsFunc(events, func(e incident.Event) bool { return movesFigures(e.Type) })) {
		if err := a.noteStats(ctx, inc); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stepPriority is the priority of each step's slow calls (see
// work.WithPriority): what people wait for (their update in the broadcast
// channel, a page) goes first; then what makes a new incident usable and
// known (its people in the channel, its card, its announcement) and keeps
// the card and checklist current; then the rest. Steps run one after
// another: joining the role holders at once was measured slower, as the
// server serialises changes to one channel's members.
var stepPriority = map[incident.StepKind]work.Priority{
	incident.StepPublish: work.Urgent, incident.StepPageStart: work.Urgent, incident.StepClosePages: work.Urgent,
	incident.StepJoin: work.Prompt, incident.StepCard: work.Prompt, incident.StepAnnounce: work.Prompt,
	incident.StepChecklist: work.Prompt,
}

// planned is one step of a batch's plan: a step of follow-up from, and for
// a publish step every event of the batch it posts.
type planned struct {
	incident.Step
	from   incident.FollowUp
	events []incident.Event
}

// onceKey keys the effects of the step: steps that happen once per
// incident by the incident, the others by the follow-up they came from.
func (p planned) onceKey(incidentID string) string {
	switch p.Kind {
	case incident.StepCard, incident.StepAnnounce:
		return incidentID + "/" + string(p.Kind)
	}
	key := incidentID + "/" + p.from.ID + "/" + string(p.Kind)
	if p.from.Origin != "" {
		key = p.from.Origin + "/" + string(p.Kind) + "/" + strconv.Itoa(p.Event)
	}
	if p.User != "" {
		key += "/" + p.User
	}
	return key
}

// plan coalesces the steps of a batch, in the order they first appear:
// steps that bring something up to date with the record (the card, the
// freeze, the summary, the checklist, closing pages) run once, since the
// record they read is the latest; the events of every publish step go out
// together, in order, at the first one's place; people join once each; a
// postmortem is posted once. The rest run as they are, one per follow-up.
func plan(batch []incident.FollowUp) []planned {
	var out []planned
	once := map[string]int{} // coalescing key -> index in out
	for _, f := range batch {
		for _, s := range f.Steps {
			var key string
			switch s.Kind {
			case incident.StepCard, incident.StepFreeze, incident.StepSummary, incident.StepChecklist,
				incident.StepClosePages, incident.StepAnnounce, incident.StepPostmortem, incident.StepForget, incident.StepIndex:
				key = string(s.Kind)
			case incident.StepJoin:
				key = string(s.Kind) + "/" + s.User
			case incident.StepPublish:
				key = string(s.Kind)
				if s.Event < 0 || s.Event >= len(f.Events) {
					continue // a malformed step has nothing to post
				}
				if i, ok := once[key]; ok {
					out[i].events = append(out[i].events, f.Events[s.Event])
					continue
				}
			}
			if key != "" {
				if _, ok := once[key]; ok {
					continue
				}
				once[key] = len(out)
			}
			p := planned{Step: s, from: f}
			if s.Kind == incident.StepPublish {
				p.events = []incident.Event{f.Events[s.Event]}
			}
			out = append(out, p)
		}
	}
	return out
}

// step does one planned step.
func (a *App) step(ctx context.Context, inc *incident.Incident, p planned) error {
	switch p.Kind {
	case incident.StepCard:
		return a.cardStep(ctx, inc)
	case incident.StepAnnounce:
		view, bc := a.broadcastFor(inc)
		if bc == "" {
			return nil
		}
		return a.notifier.Announce(ctx, view, bc)
	case incident.StepPublish:
		view, bc := a.broadcastFor(inc)
		return a.notifier.Publish(ctx, view, p.events, bc)
	case incident.StepJoin:
		// A holder outside the incident's team is added to it first; one
		// who cannot be keeps the role, and the incident manager and they
		// are told (see admit). Only those notices are retried.
		return a.admit(ctx, inc, p.User)
	case incident.StepPageStart:
		return a.pageOnStart(ctx, inc, inc.ID+"-s"+p.from.ID)
	case incident.StepFreeze:
		return a.freezeFollow(ctx, inc)
	case incident.StepPostmortem:
		// Reopened before the worker got here: the next resolution posts
		// the postmortem, not a draft now.
		if a.postmortems == nil || inc.Status != incident.StatusResolved {
			return nil
		}
		return a.PublishPostmortem(ctx, p.User, inc)
	case incident.StepRemind:
		return a.sendReminder(ctx, inc, p.from, p.Step)
	case incident.StepSummary:
		return a.storeSummary(ctx, inc)
	case incident.StepChecklist:
		return a.stepChecklist(ctx, inc)
	case incident.StepClosePages:
		if inc.Status.Active() {
			return nil // reopened before the worker got here
		}
		return a.closeIncidentPages(ctx, inc, whyResolved, true)
	case incident.StepForget:
		return a.forgetStep(ctx, inc)
	case incident.StepIndex:
		return a.store.IndexIncident(ctx, inc.ID)
	case incident.StepHandover:
		return a.handoverStep(ctx, inc, incident.Role(p.Value), p.User)
	case incident.StepHandedOver:
		return a.handedOverStep(ctx, inc, p.Value, p.User)
	}
	if n, err := strconv.Atoi(p.Value); err == nil && a.releases != nil {
		switch p.Kind {
		case incident.StepHotfixPost:
			return a.hotfixPostStep(ctx, inc, n)
		case incident.StepHotfixPage:
			return a.hotfixPageStep(ctx, inc, n)
		case incident.StepHotfixRender:
			return a.hotfixRenderStep(ctx, inc, n)
		case incident.StepHotfixNotice:
			if p.Event < 0 || p.Event >= len(p.from.Events) {
				return nil
			}
			return a.hotfixNoticeStep(ctx, inc, n, p.from.Events[p.Event])
		case incident.StepHotfixEnded:
			return a.closeReleasePage(ctx, inc, n)
		}
	}
	return fmt.Errorf("unknown follow-up step %q", p.Kind)
}

// cardStep posts the card if the incident has none, else re-renders it
// unless it shows inc already. What it shows is noted on inc, for the
// batch's settle to store (see CardShown).
func (a *App) cardStep(ctx context.Context, inc *incident.Incident) error {
	if inc.CardPostID != "" {
		shown, err := a.chat.UpdateCard(ctx, inc, inc.CardShown)
		if err == nil {
			inc.CardShown = shown
		}
		return err
	}
	id, shown, err := a.chat.PostCard(ctx, inc)
	if err != nil {
		return err
	}
	// Linked at once: its buttons act on the incident's own card (a card
	// not linked yet is accepted too, see the action route).
	linked, err := a.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error {
		if i.CardPostID != "" {
			return errUnchanged
		}
		i.CardPostID, i.CardShown = id, shown
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("link card: %w", err)
	}
	inc.CardPostID = id
	// The card was rendered before it had its own post id; render it
	// again should that change what it shows.
	if inc.CardShown, err = a.chat.UpdateCard(ctx, linked, shown); err != nil {
		return err
	}
	return nil
}

// appendKeyed appends events (whose Keys are set) to the timeline in one
// write; when retry, those an earlier attempt appended are left out.
func (a *App) appendKeyed(ctx context.Context, incidentID string, events []incident.Event, retry bool, since time.Time) error {
	if len(events) == 0 {
		return nil
	}
	if retry {
		have, err := a.keysSince(ctx, incidentID, since, len(events))
		if err != nil {
			return err
		}
		events = slices.DeleteFunc(slices.Clone(events), func(e incident.Event) bool { return e.Key != "" && have[e.Key] })
		if len(events) == 0 {
			return nil
		}
	}
	_, err := a.store.AppendEvents(ctx, incidentID, events)
	return err
}

// keysSince returns the keys of the events appended since since, reading
// back from the end of the timeline (at least n events).
func (a *App) keysSince(ctx context.Context, incidentID string, since time.Time, n int) (map[string]bool, error) {
	since = since.Add(-work.MaxClockSkew)
	for want := max(64, 2*n); ; want *= 4 {
		tail, err := a.store.TimelineTail(ctx, incidentID, want)
		if err != nil {
			return nil, fmt.Errorf("look for events appended before: %w", err)
		}
		if len(tail) < want || tail[0].At.Before(since) {
			have := make(map[string]bool, len(tail))
			for _, e := range tail {
				if e.Key != "" {
					have[e.Key] = true
				}
			}
			return have, nil
		}
	}
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

// RetryDeadLetter takes dead letter n and does it again: a follow-up set
// aside is owed again by its incident (with its tries forgotten); a
// subject set aside whole is looked at again at once. Only system admins
// may.
func (a *App) RetryDeadLetter(ctx context.Context, actor string, n int64) (work.DeadLetter, error) {
	if !a.dir.IsSystemAdmin(ctx, actor) {
		return work.DeadLetter{}, incident.Forbiddenf("only system admins can retry work that was set aside")
	}
	d, ok, err := a.work.TakeDeadLetter(ctx, n)
	if err != nil {
		return d, err
	}
	if !ok {
		return d, incident.NotFoundf("there is no set-aside work number %d: `/incident work` lists them", n)
	}
	if d.Kind == kindIncident && len(d.Body) > 0 {
		var f incident.FollowUp
		if err := json.Unmarshal(d.Body, &f); err != nil {
			return d, fmt.Errorf("decode the follow-up of dead letter %d: %w", n, err)
		}
		// Owed again as it was, under its own number and keys, so that the
		// worker looks for what an earlier attempt did before doing it.
		f.Tries, f.RetryAt, f.Retry = 0, time.Time{}, true
		_, err := a.commitWith(ctx, d.Key, func(i *incident.Incident, _ time.Time) error {
			if slices.ContainsFunc(i.Outbox, func(x incident.FollowUp) bool { return x.ID == f.ID }) {
				return errUnchanged
			}
			i.Outbox = append(i.Outbox, f)
			return nil
		})
		if err != nil && !errors.Is(err, errUnchanged) {
			return d, err
		}
		return d, nil
	}
	return d, a.work.Schedule(ctx, d.Kind, d.Key, a.now())
}

// DropDeadLetter gives up dead letter n; only system admins may.
func (a *App) DropDeadLetter(ctx context.Context, actor string, n int64) (work.DeadLetter, error) {
	if !a.dir.IsSystemAdmin(ctx, actor) {
		return work.DeadLetter{}, incident.Forbiddenf("only system admins can drop work that was set aside")
	}
	d, ok, err := a.work.TakeDeadLetter(ctx, n)
	if err != nil {
		return d, err
	}
	if !ok {
		return d, incident.NotFoundf("there is no set-aside work number %d: `/incident work` lists them", n)
	}
	a.log.Warn().Str("actor", actor).Int64("n", n).Str("kind", d.Kind).Str("key", d.Key).Str("item", d.Item).RawJSON("body", jsonOrNull(d.Body)).
		Msg("set-aside work dropped by an admin; this line is its last record")
	return d, nil
}

func jsonOrNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// DeadLetters lists the work set aside; only system admins may see it.
func (a *App) DeadLetters(ctx context.Context, actor string) ([]work.DeadLetter, error) {
	if !a.dir.IsSystemAdmin(ctx, actor) {
		return nil, incident.Forbiddenf("only system admins can see work that was set aside")
	}
	return a.work.DeadLetters(ctx)
}
