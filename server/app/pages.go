package app

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// What the read-only pages (package web) read. Every incident passes the
// same channel access check as the commands.

// ListQuery chooses a page of the incident list.
type ListQuery struct {
	Since    time.Time // created at or after
	Status   incident.Status
	Severity incident.Severity // the current one
	TeamID   string
	Text     string // in the id, title or summary, any case
	Cursor   string // where the page starts ("": the newest)
	Limit    int
}

// ListResult is a page of the incident list.
type ListResult struct {
	Incidents []*incident.Incident // newest first
	Summaries map[string]*Summary  // by incident id, for those that have one
	// Next continues the list after this page; "" when it ends here.
	Next string
	// Scanned counts the incidents looked at; Oldest is the creation
	// time of the last. A page cut short by listScan shows fewer rows
	// than Limit and a Next.
	Scanned int
	Oldest  time.Time
}

// listScan bounds the incidents one page view looks at: filters that
// match little stop there and offer to look further.
const listScan = 1000

// ListPage returns the incidents actor may see that match q, a page at a
// time, newest first: it walks the listing index from the cursor, reading
// the incidents it needs and their summaries, so that a page costs
// what it shows, whatever the history holds.
func (a *App) ListPage(ctx context.Context, actor string, q ListQuery) (*ListResult, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	v := a.viewer(ctx, actor)
	res := &ListResult{Summaries: map[string]*Summary{}}
	cursor, oldest := q.Cursor, monthOf(q.Since)
scan:
	for res.Scanned < listScan {
		// What the page still needs, more when filters drop some.
		want := min(max(q.Limit-len(res.Incidents), 16), listScan-res.Scanned)
		batch, err := a.store.ListIDs(ctx, cursor, want)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(batch))
		for i, l := range batch {
			ids[i] = l.ID
		}
		incs, err := a.store.GetIncidents(ctx, ids)
		if err != nil {
			return nil, err
		}
		for i, inc := range incs {
			cursor = batch[i].Next
			res.Scanned++
			if inc == nil {
				continue
			}
			res.Oldest = inc.CreatedAt
			if !q.Since.IsZero() && monthOf(inc.CreatedAt) < oldest {
				cursor = "" // months before the window's: the list ends
				break scan
			}
			if q.matches(inc) && v.seesIncident(ctx, inc) {
				res.Incidents = append(res.Incidents, inc)
				if len(res.Incidents) == q.Limit {
					break scan
				}
			}
		}
		if len(batch) < want {
			cursor = ""
			break
		}
	}
	res.Next = cursor
	slices.SortStableFunc(res.Incidents, func(x, y *incident.Incident) int { return y.CreatedAt.Compare(x.CreatedAt) })
	names := make([]string, len(res.Incidents))
	for i, inc := range res.Incidents {
		names[i] = summaryDoc(inc.ID)
	}
	raws, err := a.store.GetDocs(ctx, names)
	if err != nil {
		return nil, err
	}
	for i, raw := range raws {
		var s Summary
		if raw != nil && json.Unmarshal(raw, &s) == nil {
			res.Summaries[res.Incidents[i].ID] = &s
		}
	}
	return res, nil
}

func (q ListQuery) matches(inc *incident.Incident) bool {
	switch {
	case inc.CreatedAt.Before(q.Since),
		q.Status != "" && inc.Status != q.Status,
		q.Severity != 0 && inc.Severity != q.Severity,
		q.TeamID != "" && inc.TeamID != q.TeamID:
		return false
	}
	return q.Text == "" || strings.Contains(strings.ToLower(inc.ID+" "+inc.Title+" "+inc.Summary), strings.ToLower(q.Text))
}

// viewer answers what one actor may see, asking Mattermost once per team
// and once per channel.
type viewer struct {
	a               *App
	actor           string
	admin           bool
	teams, channels map[string]bool
}

func (a *App) viewer(ctx context.Context, actor string) *viewer {
	return &viewer{a: a, actor: actor, admin: a.dir.IsSystemAdmin(ctx, actor), teams: map[string]bool{}, channels: map[string]bool{}}
}

// channel reports whether the actor may read channel ch.
func (v *viewer) channel(ctx context.Context, ch string) bool {
	return v.once(v.channels, ch, func() bool { return v.a.access.CanAccessChannel(ctx, v.actor, ch) })
}

// team reports whether the actor may read team's public channels.
func (v *viewer) team(ctx context.Context, team string) bool {
	return v.once(v.teams, team, func() bool { return v.a.access.CanReadTeam(ctx, v.actor, team) })
}

// once answers for a system admin at once, else asks about key once and
// remembers the answer in cache.
func (v *viewer) once(cache map[string]bool, key string, ask func() bool) bool {
	if v.admin {
		return true
	}
	ok, seen := cache[key]
	if !seen {
		ok = ask()
		cache[key] = ok
	}
	return ok
}

// seesIncident is the exact check, for what shows an incident's text: its
// channel. Someone outside the team of a public incident cannot be in
// its channel, so the team's answer spares asking about the channel.
func (v *viewer) seesIncident(ctx context.Context, inc *incident.Incident) bool {
	if !inc.Private && inc.TeamID != "" && !v.team(ctx, inc.TeamID) {
		return false
	}
	return v.channel(ctx, inc.ChannelID)
}

// sees is the check for figures: a public incident counts for whoever
// reads its team's public channels (one question per team, whatever the
// number of incidents), a private one for whoever reads its channel.
func (v *viewer) sees(ctx context.Context, e *StatsEntry) bool {
	if !e.Private && e.Team != "" {
		return v.team(ctx, e.Team)
	}
	return v.channel(ctx, e.Channel)
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
