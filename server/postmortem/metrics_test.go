package postmortem

import (
	"slices"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

var m0 = time.Date(2026, 2, 2, 10, 0, 0, 0, time.UTC)

// at returns m0 plus minutes.
func at(minutes float64) time.Time { return m0.Add(time.Duration(minutes * float64(time.Minute))) }

// e builds an event minutes after m0.
func e(minutes float64, typ incident.EventType, kv ...string) incident.Event {
	return ev(at(minutes), "u1", typ, "", kv...)
}

// inc returns an incident started at m0 in the given status, resolved at
// resolvedAt minutes when it is resolved.
func inc(status incident.Status, resolvedAt float64) *incident.Incident {
	i := &incident.Incident{ID: "m", Status: status, CreatedAt: m0, Severity: incident.S2, HighestSeverity: incident.S2}
	if status == incident.StatusResolved {
		i.ResolvedAt = at(resolvedAt)
	}
	return i
}

func TestComputeRichScenario(t *testing.T) {
	in := richScenario(t)
	got := Compute(in.Incident, in.Timeline, in.Cadence)
	h := func(hh, mm, ss int) time.Time {
		return richStart.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second)
	}
	want := Metrics{
		Start: richStart, End: h(2, 40, 0),
		Pages: 2, Renotifications: 3, Escalations: 1, PagesClosed: 1,
		FirstPageAt: h(0, 1, 0), FirstAckAt: h(0, 23, 30), Acknowledged: true, TimeToAck: 22*time.Minute + 30*time.Second,
		MitigatedAt: h(1, 30, 0), TimeToMitigate: 90 * time.Minute,
		Resolved: true, ResolvedAt: h(2, 40, 0), TimeToResolve: 160 * time.Minute, FirstResolvedAt: h(1, 50, 0), Reopens: 1,
		TimeOpen: 110*time.Minute + 30*time.Minute, // 22:40-00:30 and 00:50-01:20
		Cadence:  30 * time.Minute, Updates: 4, LateUpdates: 2,
		LongestGap: 47 * time.Minute, // 23:05 to 23:52
		Overdue:    24 * time.Minute, // 17m + 7m; the last update (00:52) was due again at 01:22, after the end
		Reminders:  1,
	}
	if got != want {
		t.Errorf("rich metrics:\n got %+v\nwant %+v", got, want)
	}
}

func TestComputeEdgeCases(t *testing.T) {
	resolved := incident.StatusResolved
	tests := []struct {
		name    string
		inc     *incident.Incident
		evs     []incident.Event
		cadence time.Duration
		now     time.Time
		check   func(t *testing.T, m Metrics)
	}{{
		name: "never acknowledged",
		inc:  inc(resolved, 60),
		evs: []incident.Event{
			e(0, incident.EventStarted), e(2, incident.EventPaged), e(7, incident.EventPageRenotified),
			e(12, incident.EventPageEscalated), e(60, incident.EventResolved), e(60, incident.EventPageClosed),
		},
		check: func(t *testing.T, m Metrics) {
			if m.Acknowledged || !m.FirstAckAt.IsZero() || m.TimeToAck != 0 || m.FirstPageAt != at(2) ||
				m.Pages != 1 || m.Renotifications != 1 || m.Escalations != 1 || m.PagesClosed != 1 {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "first acknowledgement of several pages",
		inc:  inc(resolved, 60),
		evs: []incident.Event{
			e(0, incident.EventStarted), e(1, incident.EventPaged), e(3, incident.EventPaged),
			e(4.5, incident.EventPageAcknowledged), e(9, incident.EventPageAcknowledged), e(60, incident.EventResolved),
		},
		check: func(t *testing.T, m Metrics) {
			if !m.Acknowledged || m.TimeToAck != 210*time.Second || m.Pages != 2 {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "no pages",
		inc:  inc(resolved, 30),
		evs:  []incident.Event{e(0, incident.EventStarted), e(10, incident.EventMitigated), e(30, incident.EventResolved)},
		check: func(t *testing.T, m Metrics) {
			if m.Pages != 0 || m.Acknowledged || !m.FirstPageAt.IsZero() || m.TimeToMitigate != 10*time.Minute ||
				m.MitigatedByResolve || m.TimeToResolve != 30*time.Minute || m.TimeOpen != 30*time.Minute {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name:    "no updates: the whole incident is one gap, overdue after the first cadence",
		inc:     inc(resolved, 120),
		evs:     []incident.Event{e(0, incident.EventStarted), e(120, incident.EventResolved)},
		cadence: 30 * time.Minute,
		check: func(t *testing.T, m Metrics) {
			if m.Updates != 0 || m.LongestGap != 2*time.Hour || m.Overdue != 90*time.Minute || m.LateUpdates != 0 {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name:    "no cadence: no overdue time",
		inc:     inc(resolved, 120),
		evs:     []incident.Event{e(0, incident.EventStarted), e(120, incident.EventResolved)},
		cadence: 0,
		check: func(t *testing.T, m Metrics) {
			if m.Overdue != 0 || m.LongestGap != 2*time.Hour {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "resolved without mitigation",
		inc:  inc(resolved, 45),
		evs:  []incident.Event{e(0, incident.EventStarted), e(45, incident.EventResolved)},
		check: func(t *testing.T, m Metrics) {
			if !m.MitigatedByResolve || m.MitigatedAt != at(45) || m.TimeToMitigate != 45*time.Minute || m.TimeToMitigate != m.TimeToResolve {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "mitigated only after a reopen: the first resolution stopped the impact first",
		inc:  inc(resolved, 100),
		evs: []incident.Event{
			e(0, incident.EventStarted), e(20, incident.EventResolved), e(30, incident.EventReopened),
			e(50, incident.EventMitigated), e(100, incident.EventResolved),
		},
		check: func(t *testing.T, m Metrics) {
			if !m.MitigatedByResolve || m.MitigatedAt != at(20) || m.TimeToResolve != 100*time.Minute {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "reopened twice: measured to the last resolve, open time without the resolved periods",
		inc:  inc(resolved, 200),
		evs: []incident.Event{
			e(0, incident.EventStarted), e(10, incident.EventMitigated), e(60, incident.EventResolved),
			e(90, incident.EventReopened), e(120, incident.EventResolved), e(150, incident.EventReopened),
			e(200, incident.EventResolved),
		},
		check: func(t *testing.T, m Metrics) {
			if m.Reopens != 2 || m.ResolvedAt != at(200) || m.TimeToResolve != 200*time.Minute ||
				m.FirstResolvedAt != at(60) || m.TimeOpen != (60+30+50)*time.Minute || m.End != at(200) ||
				m.MitigatedByResolve || m.TimeToMitigate != 10*time.Minute {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "reopened: gaps and overdue time skip the resolved period",
		inc:  inc(resolved, 120),
		evs: []incident.Event{
			e(0, incident.EventStarted), e(10, incident.EventStatusUpdate), e(20, incident.EventResolved),
			e(80, incident.EventReopened), e(120, incident.EventResolved),
		},
		cadence: 30 * time.Minute,
		check: func(t *testing.T, m Metrics) {
			// Due at 40, but resolved from 20 to 80: overdue from 80 to 120.
			if m.LongestGap != 50*time.Minute || m.Overdue != 40*time.Minute || m.TimeOpen != 60*time.Minute {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "late updates add their recorded overdue time; a snooze defers the next due time",
		inc:  inc(resolved, 150),
		evs: []incident.Event{
			e(0, incident.EventStarted),
			e(31, incident.EventUpdateReminder, incident.DataOverdue, "1m0s"),
			e(35, incident.EventStatusUpdate, incident.DataOverdue, "5m0s"),
			e(40, incident.EventUpdateSnoozed, "until", at(100).Format(time.RFC3339)),
			e(60, incident.EventStatusUpdate), // on time
			e(150, incident.EventResolved),
		},
		cadence: 30 * time.Minute,
		check: func(t *testing.T, m Metrics) {
			// Next due at max(60+30, 100) = 100: 50m overdue at the end.
			if m.Updates != 2 || m.LateUpdates != 1 || m.Reminders != 1 || m.Overdue != 55*time.Minute || m.LongestGap != 90*time.Minute {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name:    "still open, measured at now",
		inc:     inc(incident.StatusOpen, 0),
		evs:     []incident.Event{e(0, incident.EventStarted), e(10, incident.EventStatusUpdate)},
		cadence: 30 * time.Minute,
		now:     at(45),
		check: func(t *testing.T, m Metrics) {
			if m.Resolved || m.End != at(45) || m.TimeOpen != 45*time.Minute || m.LongestGap != 35*time.Minute ||
				m.Overdue != 5*time.Minute || !m.MitigatedAt.IsZero() || m.TimeToResolve != 0 {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "still open, measured to the latest event",
		inc:  inc(incident.StatusMitigated, 0),
		evs:  []incident.Event{e(0, incident.EventStarted), e(25, incident.EventMitigated), e(40, incident.EventNote)},
		check: func(t *testing.T, m Metrics) {
			if m.Resolved || m.End != at(40) || m.TimeOpen != 40*time.Minute || m.TimeToMitigate != 25*time.Minute {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "reopened and still open",
		inc:  inc(incident.StatusOpen, 0),
		evs:  []incident.Event{e(0, incident.EventStarted), e(30, incident.EventResolved), e(50, incident.EventReopened)},
		now:  at(60),
		check: func(t *testing.T, m Metrics) {
			if m.Resolved || m.Reopens != 1 || m.TimeOpen != 40*time.Minute || !m.ResolvedAt.IsZero() ||
				m.FirstResolvedAt != at(30) || m.TimeToMitigate != 30*time.Minute {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "the record is resolved before its timeline says so",
		inc:  inc(resolved, 70),
		evs:  []incident.Event{e(0, incident.EventStarted), e(20, incident.EventMitigated)},
		check: func(t *testing.T, m Metrics) {
			if !m.Resolved || m.ResolvedAt != at(70) || m.TimeOpen != 70*time.Minute {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "no incident record: the timeline decides, starting at the started event",
		inc:  nil,
		evs:  []incident.Event{e(5, incident.EventStarted), e(65, incident.EventResolved)},
		check: func(t *testing.T, m Metrics) {
			if !m.Resolved || m.Start != at(5) || m.TimeToResolve != time.Hour {
				t.Errorf("%+v", m)
			}
		},
	}, {
		name: "empty timeline",
		inc:  inc(incident.StatusOpen, 0),
		check: func(t *testing.T, m Metrics) {
			if m.Resolved || m.End != m0 || m.TimeOpen != 0 || m.Pages != 0 {
				t.Errorf("%+v", m)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, ComputeAt(tt.inc, tt.evs, tt.cadence, tt.now))
		})
	}
}

func TestComputeTakesEventsByTime(t *testing.T) {
	in := richScenario(t)
	want := Compute(in.Incident, in.Timeline, in.Cadence)
	shuffled := slices.Clone(in.Timeline)
	slices.Reverse(shuffled)
	if got := Compute(in.Incident, shuffled, in.Cadence); got != want {
		t.Errorf("reversed timeline:\n got %+v\nwant %+v", got, want)
	}
	if in.Timeline[0].Type != incident.EventStarted {
		t.Error("Compute reordered the caller's slice")
	}
}

// A release manager's page for a hotfix is part of the release, not of the
// response: it neither starts nor stops the time to acknowledge.
func TestHotfixPagesStayOutOfTimeToAcknowledge(t *testing.T) {
	t0 := time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)
	inc := &incident.Incident{ID: "h1", Status: incident.StatusOpen, CreatedAt: t0}
	hf := func(e incident.Event) incident.Event { return e.With(incident.DataHotfix, "1") }
	evs := []incident.Event{
		ev(t0, "alice", incident.EventStarted, ""),
		hf(pageEv(t0.Add(time.Minute), "dev", incident.EventPaged, "h1-a", "rob", incident.RoleRM, 1, "")),
		hf(pageEv(t0.Add(2*time.Minute), "rob", incident.EventPageAcknowledged, "h1-a", "rob", incident.RoleRM, 1, "")),
		pageEv(t0.Add(3*time.Minute), incident.ActorSystem, incident.EventPaged, "h1-b", "lea", incident.RoleL1, 1, ""),
	}
	m := ComputeAt(inc, evs, 0, t0.Add(time.Hour))
	if m.Pages != 2 || !m.FirstPageAt.Equal(t0.Add(3*time.Minute)) || m.Acknowledged {
		t.Fatalf("pages %d, first page %v, acknowledged %v: the hotfix page must not count for the response", m.Pages, m.FirstPageAt, m.Acknowledged)
	}
	evs = append(evs, pageEv(t0.Add(8*time.Minute), "lea", incident.EventPageAcknowledged, "h1-b", "lea", incident.RoleL1, 1, ""))
	if m := ComputeAt(inc, evs, 0, t0.Add(time.Hour)); !m.Acknowledged || m.TimeToAck != 5*time.Minute {
		t.Errorf("time to acknowledge = %v (acknowledged %v), want 5m from the first line's page", m.TimeToAck, m.Acknowledged)
	}
}
