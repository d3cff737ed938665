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
	Since      time.Time
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
		events, err := a.store.Timeline(ctx, inc.ID)
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
		m := postmortem.ComputeAt(inc, events, 0, now)
		if m.Acknowledged {
			acks[sev] = append(acks[sev], m.TimeToAck)
		}
		if !m.MitigatedAt.IsZero() {
			mits[sev] = append(mits[sev], m.TimeToMitigate)
		}
		if m.Resolved {
			ress[sev] = append(ress[sev], m.TimeToResolve)
		}
		for _, e := range events {
			switch e.Type {
			case incident.EventPaged, incident.EventPageEscalated:
				if t := e.Data[incident.DataTarget]; t != "" {
					st.PagesPerPerson[t]++
				}
			case incident.EventRoleAssigned, incident.EventHandoverDone:
				if to := e.Data[incident.DataTo]; to != "" {
					st.StintsPerPerson[to]++
				}
			}
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
	for sev, ss := range st.BySeverity {
		ss.ToAck, ss.ToMitigate, ss.ToResolve = summarise(acks[sev]), summarise(mits[sev]), summarise(ress[sev])
	}
	return st, nil
}
