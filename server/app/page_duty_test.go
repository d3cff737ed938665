package app

import (
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// A page through an on-duty handle goes to the rota's holder of the role,
// escalates along the rota (the release manager is followed by the
// incident manager), stops at the acknowledgement, is on no incident's
// timeline and counts in the stats per person. On both stores.
func TestPageOnDutyEscalatesAlongTheRota(t *testing.T) {
	forEachStore(t, testPageOnDutyEscalatesAlongTheRota)
}

func testPageOnDutyEscalatesAlongTheRota(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	a := e.nodes[0]
	_, _, _, err := a.EditRota(ctx, "root", func(v *RotaView, now time.Time) ([]string, error) {
		sch, _, err := a.parse(berlinHandoff)
		if err != nil {
			return nil, err
		}
		if _, err := v.Rota.SetHandoff(berlinHandoff, v.Schedule, sch, now); err != nil {
			return nil, err
		}
		for role, ids := range map[incident.Role][]string{incident.RoleIM: {"ida"}, incident.RoleL1: {"lou"}, incident.RoleRM: {"rhea"}} {
			if _, err := v.Rota.SetMembers(role, ids, sch, now); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.tickAt(t0) // the tick runs from the start, as in the plugin
	if _, err := a.PageOnDuty(ctx, DutyPageRequest{Actor: "zed", Role: incident.RoleL2, ChannelID: "town"}); incident.KindOf(err) != incident.KindConflict {
		t.Fatalf("paging a role nobody holds: %v", err)
	}
	p, err := a.PageOnDuty(ctx, DutyPageRequest{Actor: "zed", Role: incident.RoleRM, ChannelID: "town", Message: "build server is down"})
	if err != nil {
		t.Fatal(err)
	}
	if p.IncidentID != "" || p.Duty == nil || p.Target().UserID != "rhea" || p.ChannelID != "town" || len(p.Posts) != 2 {
		t.Fatalf("page %+v", p)
	}
	// Unanswered for the S2 timeout, it escalates to the incident manager.
	e.tickAt(t0.Add(10*time.Minute + time.Second))
	if rec := e.record(t, p.ID); rec.Level() != 2 || rec.Target().UserID != "ida" {
		t.Fatalf("after the timeout: %+v", rec.Targets)
	}
	if _, err := a.AcknowledgePage(ctx, "ida", p.ID); err != nil {
		t.Fatal(err)
	}
	before := len(e.pagers[0].sends())
	e.tickAt(t0.Add(time.Hour))
	if n := len(e.pagers[0].sends()); n != before {
		t.Errorf("%d notices after the acknowledgement", n-before)
	}
	for _, pp := range e.record(t, p.ID).Posts {
		if r := e.pagers[0].renders[pp.ID]; r == nil || r.AckedBy != "ida" {
			t.Errorf("post %s shows %+v", pp.ID, r)
		}
	}
	st, err := a.Stats(ctx, "root", t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.PagesPerPerson["rhea"] != 1 || st.PagesPerPerson["ida"] != 1 || st.Incidents != 0 {
		t.Errorf("stats: pages %v, incidents %d", st.PagesPerPerson, st.Incidents)
	}
}
