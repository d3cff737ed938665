package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Release freeze: while an S1 incident is open or mitigated, releases other
// than its hotfixes are frozen. The freeze is derived from the incidents,
// and the one document freeze/v1 remembers what was last announced: every
// change that can start or end a freeze (start, severity change, resolve,
// reopen) and every tick re-derive it and write it with compare-and-set,
// and only the writer that flips it announces. So the broadcast channel
// hears once per start and once per end across a cluster, and a change a
// crashed instance did not finish is caught up by the next tick.

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
	Revision  int64    `json:"revision"`
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
	f, err := a.syncFreeze(ctx)
	if err != nil {
		return nil, err
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

// freezingIncidents returns the ids of the active S1 incidents, sorted.
func (a *App) freezingIncidents(ctx context.Context) ([]string, error) {
	active, err := a.store.ListActive(ctx)
	if err != nil {
		return nil, fmt.Errorf("list active incidents: %w", err)
	}
	var ids []string
	for _, inc := range active {
		if inc.Severity == FreezeSeverity {
			ids = append(ids, inc.ID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// syncFreeze re-derives the freeze from the incidents and stores it; the
// instance whose write starts or ends a freeze announces it and records it
// on the incidents concerned. The incidents are read after the document in
// each attempt, so the last write to land saw the latest incidents.
func (a *App) syncFreeze(ctx context.Context) (*Freeze, error) {
	var before Freeze
	f, wrote, err := updateDoc(ctx, a.store, freezeDoc, func(f *Freeze, _ bool) error {
		before = *f
		ids, err := a.freezingIncidents(ctx)
		if err != nil {
			return err
		}
		if slices.Equal(ids, f.Incidents) && f.Active == (len(ids) > 0) {
			return errUnchanged
		}
		now := a.now().UTC()
		switch {
		case len(ids) > 0 && !f.Active:
			f.Active, f.Since, f.Until = true, now, time.Time{}
		case len(ids) == 0 && f.Active:
			f.Active, f.Until = false, now
		}
		f.Incidents = ids
		f.Revision++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sync release freeze: %w", err)
	}
	if !wrote || f.Active == before.Active {
		return f, nil
	}
	if f.Active {
		a.freezeChanged(ctx, f, true, f.Incidents, f.Since)
	} else {
		ended := before
		ended.Until = f.Until
		a.freezeChanged(ctx, &ended, false, before.Incidents, f.Until)
	}
	return f, nil
}

// freezeChanged records a freeze's start or end on the incidents holding
// it and announces it.
func (a *App) freezeChanged(ctx context.Context, f *Freeze, started bool, ids []string, at time.Time) {
	typ, text := incident.EventFreezeStarted, "releases other than this incident's hotfixes are frozen while it is an open S1"
	if !started {
		typ = incident.EventFreezeEnded
		text = fmt.Sprintf("no S1 incident is open any more; the freeze lasted %s", at.Sub(f.Since).Round(time.Second))
	}
	for _, id := range ids {
		_, _ = a.record(ctx, id, incident.NewEvent(at, incident.ActorSystem, typ, text))
	}
	a.log.Info().Bool("started", started).Str("incidents", strings.Join(ids, ",")).Msg("release freeze")
	if a.releases == nil {
		return
	}
	if bc := a.settings().BroadcastChannelID; bc != "" {
		if err := a.releases.AnnounceFreeze(ctx, f, started, bc); err != nil {
			a.log.Warn().Err(err).Bool("started", started).Msg("announce release freeze")
		}
	}
}

// freezeCheckEvery is how often the tick re-derives the freeze. Every
// change that can start or end a freeze derives it at once; the tick only
// catches up after an instance died between a change and its announcement,
// so it need not read every active incident every few seconds.
const freezeCheckEvery = time.Minute

// freezeCheckDue reports whether this instance's tick should re-derive the
// freeze now. The last check is remembered per instance, in memory: it
// only paces a safety net, and losing it on a restart costs one extra
// check.
func (a *App) freezeCheckDue(now time.Time) bool {
	last := atomic.LoadInt64(&a.lastFreezeCheck)
	if last != 0 && now.Sub(time.Unix(0, last)) < freezeCheckEvery {
		return false
	}
	return atomic.CompareAndSwapInt64(&a.lastFreezeCheck, last, now.UnixNano())
}

// afterFreezeChange re-derives the freeze after a change that can start or
// end one; a failure is logged, and the next tick catches up.
func (a *App) afterFreezeChange(ctx context.Context, ev incident.Event) {
	switch ev.Type {
	case incident.EventStarted, incident.EventSeverityChanged, incident.EventResolved, incident.EventReopened:
	default:
		return
	}
	if _, err := a.syncFreeze(ctx); err != nil {
		a.log.Warn().Err(err).Str("event_type", string(ev.Type)).Msg("release freeze after change")
	}
}
