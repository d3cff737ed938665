package app

import (
	"context"
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
}

// OverdueAction is an open action item past due.
type OverdueAction struct {
	Incident string
	Item     incident.ActionItem
}

// Stats computes incident metrics across the incidents created since since
// that actor may see: per severity (by the highest severity reached) the
// count and the mean and p90 of the times to acknowledge, mitigate and
// resolve; pages and role stints per person; overdue action items.
func (a *App) Stats(ctx context.Context, actor string, since time.Time) (*Stats, error) {
	list, err := a.store.ListSince(ctx, since)
	if err != nil {
		return nil, err
	}
	now := a.now()
	st := &Stats{Since: since, BySeverity: map[incident.Severity]*SeverityStats{},
		PagesPerPerson: map[string]int{}, StintsPerPerson: map[string]int{}}
	acks := map[incident.Severity][]time.Duration{}
	mits := map[incident.Severity][]time.Duration{}
	ress := map[incident.Severity][]time.Duration{}
	for _, inc := range list {
		if !a.access.CanAccessChannel(ctx, actor, inc.ChannelID) {
			continue
		}
		sum, err := a.incidentSummary(ctx, inc)
		if err != nil {
			return nil, err
		}
		sev := inc.HighestSeverity
		if !sev.Valid() {
			sev = inc.Severity
		}
		ss := st.BySeverity[sev]
		if ss == nil {
			ss = &SeverityStats{}
			st.BySeverity[sev] = ss
		}
		st.Incidents++
		ss.Incidents++
		if sum.Acknowledged {
			acks[sev] = append(acks[sev], sum.TimeToAck)
		}
		if sum.Mitigated {
			mits[sev] = append(mits[sev], sum.TimeToMitigate)
		}
		if sum.Resolved {
			ress[sev] = append(ress[sev], sum.TimeToResolve)
		}
		for u, n := range sum.Pages {
			st.PagesPerPerson[u] += n
		}
		for u, n := range sum.Stints {
			st.StintsPerPerson[u] += n
		}
		items, err := a.ActionItems(ctx, inc)
		if err != nil {
			return nil, err
		}
		for _, it := range items.Items {
			if !it.Done && !it.Due.IsZero() && it.Due.Before(now) {
				st.OverdueActions = append(st.OverdueActions, OverdueAction{Incident: inc.ID, Item: it})
			}
		}
	}
	if err := a.addDutyPages(ctx, since, now, st.PagesPerPerson); err != nil {
		return nil, err
	}
	for sev, ss := range st.BySeverity {
		ss.ToAck, ss.ToMitigate, ss.ToResolve = summarise(acks[sev]), summarise(mits[sev]), summarise(ress[sev])
	}
	return st, nil
}

// Summary is what the stats need of one incident's timeline. It is stored
// (sum/v1/<id>) when the incident resolves, so that the stats read one
// small document per resolved incident instead of its whole timeline, and
// dropped when it is reopened.
type Summary struct {
	// ResolvedAt is the resolution the summary was made for.
	ResolvedAt     time.Time      `json:"resolved_at,omitzero"`
	Acknowledged   bool           `json:"acknowledged,omitempty"`
	TimeToAck      time.Duration  `json:"time_to_ack,omitempty"`
	Mitigated      bool           `json:"mitigated,omitempty"`
	TimeToMitigate time.Duration  `json:"time_to_mitigate,omitempty"`
	Resolved       bool           `json:"resolved,omitempty"`
	TimeToResolve  time.Duration  `json:"time_to_resolve,omitempty"`
	Pages          map[string]int `json:"pages,omitempty"`  // first notifications and escalations per user
	Stints         map[string]int `json:"stints,omitempty"` // roles taken per user
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

// incidentSummary returns inc's stored summary when it belongs to inc's
// current resolution, else computes it from the timeline (an incident
// still open, or one whose summary step has not run yet).
func (a *App) incidentSummary(ctx context.Context, inc *incident.Incident) (*Summary, error) {
	if inc.Status == incident.StatusResolved {
		s, ok, err := loadDoc[Summary](ctx, a.store, summaryDoc(inc.ID))
		if err != nil {
			return nil, err
		}
		if ok && s.ResolvedAt.Equal(inc.ResolvedAt) {
			return s, nil
		}
	}
	events, err := a.store.Timeline(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	return summarize(inc, events, a.now()), nil
}

// storeSummary is the summary step: after a resolution it stores the
// incident's summary, after a reopen it drops it.
func (a *App) storeSummary(ctx context.Context, inc *incident.Incident) error {
	if inc.Status != incident.StatusResolved {
		_, _, err := updateDoc(ctx, a.store, summaryDoc(inc.ID), func(*Summary, bool) error { return errDelete })
		return err
	}
	events, err := a.store.Timeline(ctx, inc.ID)
	if err != nil {
		return err
	}
	sum := summarize(inc, events, a.now())
	_, _, err = updateDoc(ctx, a.store, summaryDoc(inc.ID), func(s *Summary, _ bool) error {
		*s = *sum
		return nil
	})
	return err
}
