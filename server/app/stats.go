package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/postmortem"
)

// DurationStats summarises durations: how many, their mean and 90th
// percentile (nearest rank).
type DurationStats struct {
	N         int
	Mean, P90 time.Duration
}

func summarise(ds []time.Duration) DurationStats {
	if len(ds) == 0 {
		return DurationStats{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	rank := int(math.Ceil(0.9 * float64(len(ds))))
	return DurationStats{N: len(ds), Mean: sum / time.Duration(len(ds)), P90: ds[rank-1]}
}

// SeverityStats are one severity's figures.
type SeverityStats struct {
	Incidents                    int
	ToAck, ToMitigate, ToResolve DurationStats
}

// Stats are the figures across incidents since a time.
type Stats struct {
	Since time.Time
	// Incidents counts those the actor may see; the others are left out
	// of every figure, and not counted (see pages.go).
	Incidents  int
	BySeverity map[incident.Severity]*SeverityStats
	// PagesPerPerson counts pages (first notifications) sent to each user.
	PagesPerPerson map[string]int
	// StintsPerPerson counts role assignments each user held.
	StintsPerPerson map[string]int
	// OverdueActions lists open action items past their due date.
	OverdueActions []OverdueAction
	// Entries are the incidents counted, oldest first, for the charts.
	Entries []*StatsEntry
	// Pending names the months whose figures are still being computed
	// (in the background, once): their incidents are not counted yet.
	Pending []string
}

// OverdueAction is an open action item past due.
type OverdueAction struct {
	Incident string
	Item     incident.ActionItem
}

// StatsOptions change how Stats reads.
type StatsOptions struct {
	// ReadOnly computes the figures of months that have none stored from
	// the timelines, stores nothing, and leaves no month pending (the
	// offline reader of an archive).
	ReadOnly bool
}

// statsInline is the most incidents a month without stored figures may
// have for a stats view to compute them itself; a larger month is
// computed in the background and reported pending meanwhile.
const statsInline = 100

// Stats computes incident metrics across the incidents created since since
// that actor may see: per severity (by the highest severity reached) the
// count and the mean and p90 of the times to acknowledge, mitigate and
// resolve; pages and role stints per person; overdue action items. It
// reads each month's documents (see stats_store.go), not the incidents.
func (a *App) Stats(ctx context.Context, actor string, since time.Time) (*Stats, error) {
	return a.StatsWith(ctx, actor, since, StatsOptions{})
}

// StatsWith is Stats with options.
func (a *App) StatsWith(ctx context.Context, actor string, since time.Time, opt StatsOptions) (*Stats, error) {
	now := a.now()
	months, err := a.store.IncidentMonths(ctx)
	if err != nil {
		return nil, err
	}
	var window []string
	for _, m := range months {
		if (since.IsZero() || m >= monthOf(since)) && m <= monthOf(now) {
			window = append(window, m)
		}
	}
	names := make([]string, 0, len(window)*(statsShards+1))
	for _, m := range window {
		names = append(names, statsReadyDoc(m))
		for n := range statsShards {
			names = append(names, statsShardDoc(m, n))
		}
	}
	raws, err := a.store.GetDocs(ctx, names)
	if err != nil {
		return nil, err
	}
	st := &Stats{Since: since, BySeverity: map[incident.Severity]*SeverityStats{},
		PagesPerPerson: map[string]int{}, StintsPerPerson: map[string]int{}}
	v := a.viewer(ctx, actor)
	durs := [3]map[incident.Severity][]time.Duration{{}, {}, {}}
	for i, m := range window {
		docs := raws[i*(statsShards+1) : (i+1)*(statsShards+1)]
		entries, pending, err := a.entriesOf(ctx, m, docs, opt)
		if err != nil {
			return nil, err
		}
		if pending {
			st.Pending = append(st.Pending, m)
			continue
		}
		for _, e := range entries {
			if e.Created.Before(since) || !v.sees(ctx, e) {
				continue
			}
			st.add(e, durs)
			for _, d := range e.Due {
				if d.Due.Before(now) && v.channel(ctx, e.Channel) {
					st.OverdueActions = append(st.OverdueActions, OverdueAction{Incident: e.ID, Item: incident.ActionItem{N: d.N, Text: d.Text, Owner: d.Owner, Due: d.Due}})
				}
			}
		}
	}
	if err := a.addDutyPages(ctx, since, now, st.PagesPerPerson); err != nil {
		return nil, err
	}
	for sev, ss := range st.BySeverity {
		ss.ToAck, ss.ToMitigate, ss.ToResolve = summarise(durs[0][sev]), summarise(durs[1][sev]), summarise(durs[2][sev])
	}
	sort.Slice(st.Entries, func(i, j int) bool { return st.Entries[i].Created.Before(st.Entries[j].Created) })
	sort.Slice(st.OverdueActions, func(i, j int) bool { return st.OverdueActions[i].Item.Due.Before(st.OverdueActions[j].Item.Due) })
	return st, nil
}

// add counts e.
func (st *Stats) add(e *StatsEntry, durs [3]map[incident.Severity][]time.Duration) {
	ss := st.BySeverity[e.Sev]
	if ss == nil {
		ss = &SeverityStats{}
		st.BySeverity[e.Sev] = ss
	}
	st.Incidents++
	ss.Incidents++
	for i, d := range []*time.Duration{e.TTA, e.TTM, e.TTR} {
		if d != nil {
			durs[i][e.Sev] = append(durs[i][e.Sev], *d)
		}
	}
	for u, n := range e.Pages {
		st.PagesPerPerson[u] += n
	}
	for u, n := range e.Stints {
		st.StintsPerPerson[u] += n
	}
	st.Entries = append(st.Entries, e)
}

// entriesOf decodes month's documents (its ready mark, then its shards).
// A month not marked ready yet is checked against the month's index:
// when every incident has its entry, or the few missing are computed
// here, it is marked ready; more are computed in the background, and the
// month is pending meanwhile.
func (a *App) entriesOf(ctx context.Context, month string, docs [][]byte, opt StatsOptions) ([]*StatsEntry, bool, error) {
	have := map[string]*StatsEntry{}
	for _, raw := range docs[1:] {
		if raw == nil {
			continue
		}
		var sh statsShard
		if err := json.Unmarshal(raw, &sh); err != nil {
			return nil, false, fmt.Errorf("decode the stats of %s: %w", month, err)
		}
		for id, e := range sh.Entries {
			if e != nil {
				e.ID = id
				have[id] = e
			}
		}
	}
	if docs[0] == nil {
		missing, err := a.missingEntries(ctx, month, have)
		switch {
		case err != nil:
			return nil, false, err
		case len(missing) > statsInline && !opt.ReadOnly:
			a.backfillStats(month)
			return nil, true, nil
		}
		if err := a.fillMonth(ctx, month, missing, have, !opt.ReadOnly); err != nil {
			return nil, false, err
		}
	}
	out := make([]*StatsEntry, 0, len(have))
	for _, e := range have {
		out = append(out, e)
	}
	return out, false, nil
}

// Summary is what the incident list needs of one incident's timeline.
// Its worker stores it (sum/v1/<id>) with the incident's stats entry (see
// noteStats), so that a page of the list reads one small document per
// incident instead of its timeline.
type Summary struct {
	// ResolvedAt is the resolution the summary was made for, if any.
	ResolvedAt     time.Time      `json:"resolved_at,omitzero"`
	Acknowledged   bool           `json:"acknowledged,omitempty"`
	TimeToAck      time.Duration  `json:"time_to_ack,omitempty"`
	Mitigated      bool           `json:"mitigated,omitempty"`
	TimeToMitigate time.Duration  `json:"time_to_mitigate,omitempty"`
	Resolved       bool           `json:"resolved,omitempty"`
	TimeToResolve  time.Duration  `json:"time_to_resolve,omitempty"`
	Pages          map[string]int `json:"pages,omitempty"`  // first notifications and escalations per user
	Stints         map[string]int `json:"stints,omitempty"` // roles taken per user
	// Events and Rev are the timeline length and record revision the
	// summary was made from (see newer).
	Events int   `json:"events,omitempty"`
	Rev    int64 `json:"rev,omitempty"`
}

func summaryDoc(id string) string { return "sum/v1/" + id }

// summarize computes inc's summary from its timeline.
func summarize(inc *incident.Incident, events []incident.Event, now time.Time) *Summary {
	m := postmortem.ComputeAt(inc, events, 0, now)
	s := &Summary{Acknowledged: m.Acknowledged, TimeToAck: m.TimeToAck, Mitigated: !m.MitigatedAt.IsZero(), TimeToMitigate: m.TimeToMitigate,
		Resolved: m.Resolved, TimeToResolve: m.TimeToResolve, Pages: map[string]int{}, Stints: map[string]int{}}
	if inc.Status == incident.StatusResolved {
		s.ResolvedAt = inc.ResolvedAt
	}
	for _, e := range events {
		switch e.Type {
		case incident.EventPaged, incident.EventPageEscalated:
			if t := e.Data[incident.DataTarget]; t != "" {
				s.Pages[t]++
			}
		case incident.EventRoleAssigned, incident.EventHandoverDone:
			if to := e.Data[incident.DataTo]; to != "" {
				s.Stints[to]++
			}
		}
	}
	return s
}

// storeSummary is the summary step, planned by a resolution or a reopen,
// and run by the worker after any change that moves the figures.
func (a *App) storeSummary(ctx context.Context, inc *incident.Incident) error {
	return a.noteStats(ctx, inc)
}
