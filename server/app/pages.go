package app

import (
	"context"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// What the read-only pages (package web) read. Every incident passes the
// same channel access check as the commands.

// ListVisible returns the incidents created since since that actor may
// see, in the store's order. How many others there are is not said: for a
// chosen window it would tell an outsider when private incidents started.
func (a *App) ListVisible(ctx context.Context, actor string, since time.Time) ([]*incident.Incident, error) {
	list, err := a.store.ListSince(ctx, since)
	if err != nil {
		return nil, err
	}
	out := make([]*incident.Incident, 0, len(list))
	for _, inc := range list {
		if a.access.CanAccessChannel(ctx, actor, inc.ChannelID) {
			out = append(out, inc)
		}
	}
	return out, nil
}

// Read returns incident id if actor may see it; a missing incident and
// one actor may not see are the same not-found error.
func (a *App) Read(ctx context.Context, actor, id string) (*incident.Incident, error) {
	id = strings.TrimPrefix(strings.TrimSpace(id), "#")
	if id == "" {
		return nil, incident.NotFoundf("no incident given")
	}
	return a.Locate(ctx, actor, "", id)
}

// Timeline returns the incident's whole timeline, in order.
func (a *App) Timeline(ctx context.Context, inc *incident.Incident) ([]incident.Event, error) {
	return a.store.Timeline(ctx, inc.ID)
}

// IncidentSummary returns the figures the stats use for inc (times to
// acknowledge, mitigate and resolve, pages and stints per person), from
// the same computation as the postmortem (postmortem.ComputeAt).
func (a *App) IncidentSummary(ctx context.Context, inc *incident.Incident) (*Summary, error) {
	return a.incidentSummary(ctx, inc)
}

// Cadence is the status update target of severity sev (0: none).
func (a *App) Cadence(sev incident.Severity) time.Duration { return a.settings().UpdateCadence[sev] }

// Now is the app's clock.
func (a *App) Now() time.Time { return a.now() }

// RotaWeek is one rota week as the rota page shows it: who the rota has on
// duty per role and who incidents started at the week's start would get.
type RotaWeek struct {
	Index      int
	Start, End time.Time
	Staffing   rota.Staffing
}

// RotaWeeks returns the rota weeks from back weeks before now's to ahead
// weeks after it, with the staffing at each week's start under the
// current policy.
func (a *App) RotaWeeks(ctx context.Context, back, ahead int) (*RotaView, []RotaWeek, int, error) {
	v, err := a.Rota(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	now := a.now()
	p := a.settings().Policy
	_, start, end := rota.WeekOf(v.Schedule, v.Rota.Anchor, now)
	// Walk back from the current week by probing just before each start.
	starts := []time.Time{start}
	ends := []time.Time{end}
	for i := 0; i < back; i++ {
		_, s, e := rota.WeekOf(v.Schedule, v.Rota.Anchor, starts[0].Add(-time.Second))
		if !s.Before(starts[0]) {
			break
		}
		starts = append([]time.Time{s}, starts...)
		ends = append([]time.Time{e}, ends...)
	}
	current := len(starts) - 1
	for i := 0; i < ahead; i++ {
		last := ends[len(ends)-1]
		if last.IsZero() {
			break
		}
		_, s, e := rota.WeekOf(v.Schedule, v.Rota.Anchor, last)
		if !s.After(starts[len(starts)-1]) {
			break
		}
		starts = append(starts, s)
		ends = append(ends, e)
	}
	weeks := make([]RotaWeek, len(starts))
	for i := range starts {
		idx, _, _ := rota.WeekOf(v.Schedule, v.Rota.Anchor, starts[i])
		weeks[i] = RotaWeek{Index: idx, Start: starts[i], End: ends[i], Staffing: v.Rota.Assign(v.Schedule, starts[i], p)}
	}
	return v, weeks, current, nil
}

// IsSystemAdmin reports whether userID is a system admin (pages show admin
// links by it; every action checks again).
func (a *App) IsSystemAdmin(ctx context.Context, userID string) bool {
	return a.dir.IsSystemAdmin(ctx, userID)
}
