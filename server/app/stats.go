package app

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
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
	// Months are the figures of each month ("2006-01") by the creation of
	// the incidents, for the charts.
	Months map[string]*Figures
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
	st := &Stats{Since: since, BySeverity: map[incident.Severity]*SeverityStats{}, Months: map[string]*Figures{}}
	v := a.viewer(ctx, actor)
	all := &Figures{}
	for i, m := range window {
		docs := raws[i*(statsShards+1) : (i+1)*(statsShards+1)]
		start, _ := time.Parse("2006-01", m)
		fig := &Figures{}
		if docs[0] != nil && !start.Before(since) {
			// A whole month, ready: its figures, not its entries.
			for _, raw := range docs[1:] {
				if raw == nil {
					continue
				}
				sf, err := readShardFigures(raw)
				if err != nil {
					return nil, fmt.Errorf("decode the stats of %s: %w", m, err)
				}
				st.addShard(ctx, fig, sf, v, now)
			}
		} else {
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
				fig.add(e)
				st.addDue(ctx, dueRef{ID: e.ID, Channel: e.Channel, Due: e.Due}, v, now)
			}
		}
		if len(fig.N) > 0 {
			st.Months[m] = fig
			all.merge(fig)
		}
	}
	for sev, n := range all.N {
		st.Incidents += n
		st.BySeverity[sev] = &SeverityStats{Incidents: n, ToAck: all.Summary(MetricAck, sev),
			ToMitigate: all.Summary(MetricMitigate, sev), ToResolve: all.Summary(MetricResolve, sev)}
	}
	st.PagesPerPerson, st.StintsPerPerson = all.Pages, all.Stints
	if st.PagesPerPerson == nil {
		st.PagesPerPerson = map[string]int{}
	}
	if st.StintsPerPerson == nil {
		st.StintsPerPerson = map[string]int{}
	}
	if err := a.addDutyPages(ctx, since, now, st.PagesPerPerson); err != nil {
		return nil, err
	}
	sort.Slice(st.OverdueActions, func(i, j int) bool { return st.OverdueActions[i].Item.Due.Before(st.OverdueActions[j].Item.Due) })
	return st, nil
}

// addShard adds what actor may see of a shard's figures: the public
// incidents of the teams they read, the private ones whose channels
// they read, and the overdue action items of the incidents they read.
func (st *Stats) addShard(ctx context.Context, fig *Figures, sf *shardFigures, v *viewer, now time.Time) {
	for team, f := range sf.Teams {
		if v.team(ctx, team) {
			fig.merge(f)
		}
	}
	for _, e := range sf.Private {
		if v.channel(ctx, e.Channel) {
			fig.add(e)
		}
	}
	for _, d := range sf.Due {
		st.addDue(ctx, d, v, now)
	}
}

// addDue adds the items of d past due to the overdue actions, if actor
// reads the incident's channel: the items' text is shown.
func (st *Stats) addDue(ctx context.Context, d dueRef, v *viewer, now time.Time) {
	for _, it := range d.Due {
		if it.Due.Before(now) && v.channel(ctx, d.Channel) {
			st.OverdueActions = append(st.OverdueActions, OverdueAction{Incident: d.ID, Item: incident.ActionItem{N: it.N, Text: it.Text, Owner: it.Owner, Due: it.Due}})
		}
	}
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
		entries, err := sh.entries()
		if err != nil {
			return nil, false, fmt.Errorf("the stats of %s: %w", month, err)
		}
		maps.Copy(have, entries)
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
