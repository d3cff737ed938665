package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Release freeze: while an S1 incident is open or mitigated, releases other
// than its hotfixes are frozen. The one document freeze/v1 holds the open
// S1 incidents and the freeze they make: every change that can start or
// end a freeze (start, severity change, resolve, reopen) owes a freeze
// step, which adds or removes its incident with compare-and-set. Only the
// write that flips the freeze records a notice in the same write, so the
// broadcast channel hears once per start and once per end across a
// cluster, and a notice whose announcer died is announced by the next
// tick. No path reads the incidents to derive it.

const freezeDoc = "freeze/v1"

// FreezeSeverity is the severity whose open incidents freeze releases.
const FreezeSeverity = incident.S1

// Freeze is the state of the release freeze.
type Freeze struct {
	Active bool `json:"active"`
	// Since is when the current freeze began; the start of the last one
	// once it ended.
	Since time.Time `json:"since,omitzero"`
	// Until is when the last freeze ended (zero while one is in force).
	Until time.Time `json:"until,omitzero"`
	// Incidents are the open S1 incidents holding the freeze, by id.
	Incidents []string `json:"incidents,omitempty"`
	// Notices are starts and ends of the freeze still to be announced.
	Notices  []FreezeNotice `json:"notices,omitempty"`
	Revision int64          `json:"revision"`
}

// FreezeNotice is a start or end of the freeze to announce and to put on
// the timelines of the incidents concerned.
type FreezeNotice struct {
	// N is the revision of the freeze that made it: unique.
	N       int64     `json:"n"`
	Started bool      `json:"started"`
	At      time.Time `json:"at"`
	// Since is when the freeze began (for an end: how long it lasted).
	Since     time.Time `json:"since"`
	Incidents []string  `json:"incidents"`
	// Lease is held by the notice's announcer; Tries counts its takes, so
	// that a retry looks for what an earlier one posted.
	Lease cas.Lease `json:"lease,omitzero"`
	Tries int       `json:"tries,omitempty"`
}

// FreezeView is the freeze as /incident freeze shows it.
type FreezeView struct {
	Freeze
	// Holding are the incidents holding the freeze that the viewer may
	// see; Hidden counts the others.
	Holding []*incident.Incident
	Hidden  int
	// Exempt are the active hotfixes of the holding incidents: the only
	// releases allowed.
	Exempt []*hotfix.Hotfix
}

// ReleaseFreeze returns the freeze as actor may see it.
func (a *App) ReleaseFreeze(ctx context.Context, actor string) (*FreezeView, error) {
	f, _, err := loadDoc[Freeze](ctx, a.store, freezeDoc)
	if err != nil {
		return nil, fmt.Errorf("read release freeze: %w", err)
	}
	v := &FreezeView{Freeze: *f}
	for _, id := range f.Incidents {
		inc, err := a.store.GetIncident(ctx, id)
		if err != nil {
			v.Hidden++
			continue
		}
		if !a.access.CanAccessChannel(ctx, actor, inc.ChannelID) {
			v.Hidden++
			continue
		}
		v.Holding = append(v.Holding, inc)
		b, err := a.Hotfixes(ctx, inc)
		if err != nil {
			return nil, err
		}
		if h := b.Active(); h != nil {
			v.Exempt = append(v.Exempt, h)
		}
	}
	return v, nil
}

// freezeRelevant reports whether an event can start or end a freeze.
func freezeRelevant(t incident.EventType) bool {
	switch t {
	case incident.EventStarted, incident.EventSeverityChanged, incident.EventResolved, incident.EventReopened:
		return true
	}
	return false
}

// kindFreeze is the work kind of the freeze's notices (key freezeKey).
const (
	kindFreeze = "freeze"
	freezeKey  = "v1"
)

// freezeFollow is the freeze step: it brings the freeze up to date with
// inc (as it stands now, so follow-ups done late still converge), then
// announces what that flipped.
func (a *App) freezeFollow(ctx context.Context, inc *incident.Incident) error {
	holds := inc.Status.Active() && inc.Severity == FreezeSeverity
	f, ok, err := loadDoc[Freeze](ctx, a.store, freezeDoc)
	if err != nil {
		return fmt.Errorf("read release freeze: %w", err)
	}
	if ok && slices.Contains(f.Incidents, inc.ID) == holds && len(f.Notices) == 0 {
		return nil // the common case: nothing flips, nothing is owed
	}
	// A notice may be recorded below: it is findable before it is (the
	// announcement below is the fast path; the entry, the safety net
	// should this process die).
	if err := a.work.Schedule(ctx, kindFreeze, freezeKey, a.now().Add(work.LeaseTTL)); err != nil {
		return fmt.Errorf("update release freeze: %w", err)
	}
	f, _, err = updateDoc(ctx, a.store, freezeDoc, func(f *Freeze, _ bool) error {
		if slices.Contains(f.Incidents, inc.ID) == holds {
			return errUnchanged
		}
		before := slices.Clone(f.Incidents)
		if holds {
			f.Incidents = append(f.Incidents, inc.ID)
			slices.Sort(f.Incidents)
		} else {
			f.Incidents = slices.DeleteFunc(f.Incidents, func(id string) bool { return id == inc.ID })
		}
		f.Revision++
		now := a.now().UTC()
		switch {
		case len(f.Incidents) > 0 && !f.Active:
			f.Active, f.Since, f.Until = true, now, time.Time{}
			f.Notices = append(f.Notices, FreezeNotice{N: f.Revision, Started: true, At: now, Since: now, Incidents: slices.Clone(f.Incidents)})
		case len(f.Incidents) == 0 && f.Active:
			f.Active, f.Until = false, now
			f.Notices = append(f.Notices, FreezeNotice{N: f.Revision, At: now, Since: f.Since, Incidents: before})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update release freeze: %w", err)
	}
	if len(f.Notices) == 0 {
		return nil
	}
	_, err = a.announceFreeze(ctx, cas.NewOwner())
	return err
}

// runFreeze is the worker of kind "freeze": it announces the notices whose
// announcer died (their lease stood still), and comes back while any is
// being announced.
func (a *App) runFreeze(ctx context.Context, job work.Job) (work.Outcome, error) {
	busy, err := a.announceFreeze(ctx, job.Owner)
	if err != nil {
		return work.Outcome{}, err
	}
	return work.Outcome{Busy: busy}, nil
}

// announceFreeze announces the freeze's pending notices, each once: it
// takes a notice's lease, records it on the incidents concerned and posts
// it (both keyed, so that a retry after a crash adds nothing twice), then
// removes it. busy reports notices left to a live announcer.
func (a *App) announceFreeze(ctx context.Context, owner string) (busy bool, err error) {
	f, _, err := loadDoc[Freeze](ctx, a.store, freezeDoc)
	if err != nil {
		return false, fmt.Errorf("read release freeze: %w", err)
	}
	var errs []error
	for _, n := range f.Notices {
		if n.Lease.Held() && !a.work.Watch().MayTake(freezeWatchKey(n.N), n.Lease) {
			busy = true
			continue // its announcer is at work
		}
		if err := a.announceNotice(ctx, n, owner); err != nil {
			errs = append(errs, err)
		}
	}
	return busy, errors.Join(errs...)
}

func freezeWatchKey(n int64) string { return fmt.Sprintf("%s/%d", kindFreeze, n) }

// announceNotice takes notice seen (as last read), announces it and
// removes it.
func (a *App) announceNotice(ctx context.Context, seen FreezeNotice, owner string) error {
	var claimed *FreezeNotice
	_, _, err := updateDoc(ctx, a.store, freezeDoc, func(f *Freeze, _ bool) error {
		claimed = nil
		i := slices.IndexFunc(f.Notices, func(x FreezeNotice) bool { return x.N == seen.N })
		if i < 0 || f.Notices[i].Lease != seen.Lease {
			return errUnchanged
		}
		f.Notices[i].Lease.Take(owner, a.now())
		f.Notices[i].Tries++
		c := f.Notices[i]
		claimed = &c
		return nil
	})
	if err != nil || claimed == nil {
		return err
	}
	a.work.Watch().Forget(freezeWatchKey(seen.N))
	ctx = work.WithOnce(ctx, fmt.Sprintf("freeze/%d", seen.N), claimed.Tries > 1, claimed.At)
	typ, text := incident.EventFreezeStarted, "releases other than this incident's hotfixes are frozen while it is an open S1"
	if !claimed.Started {
		typ = incident.EventFreezeEnded
		text = fmt.Sprintf("no S1 incident is open any more; the freeze lasted %s", incident.FormatDuration(incident.Elapsed(claimed.Since, claimed.At)))
	}
	for _, id := range claimed.Incidents {
		if _, err := a.record(ctx, id, incident.NewEvent(claimed.At, incident.ActorSystem, typ, text)); err != nil && !errors.Is(err, incident.ErrNotFound) {
			return err
		}
	}
	if bc := a.settings().BroadcastChannelID; bc != "" && a.releases != nil {
		shown := &Freeze{Active: claimed.Started, Since: claimed.Since, Incidents: claimed.Incidents}
		if !claimed.Started {
			shown.Until = claimed.At
		}
		if err := a.releases.AnnounceFreeze(ctx, shown, claimed.Started, bc); err != nil {
			return fmt.Errorf("announce release freeze: %w", err)
		}
	}
	a.log.Info().Bool("started", claimed.Started).Str("incidents", strings.Join(claimed.Incidents, ",")).Msg("release freeze")
	_, _, err = updateDoc(ctx, a.store, freezeDoc, func(f *Freeze, _ bool) error {
		i := slices.IndexFunc(f.Notices, func(x FreezeNotice) bool { return x.N == seen.N && x.Lease.HeldBy(owner) })
		if i < 0 {
			return errUnchanged
		}
		f.Notices = slices.Delete(f.Notices, i, i+1)
		return nil
	})
	return err
}
