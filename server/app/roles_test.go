package app

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// setRota gives each role its members, as the admin "root".
func (e *env) setRota(t *testing.T, members map[incident.Role][]string, extra ...RotaEdit) {
	t.Helper()
	_, _, _, err := e.app.EditRota(ctx, "root", func(v *RotaView, now time.Time) ([]string, error) {
		for role, ids := range members {
			if _, err := v.Rota.SetMembers(role, ids, v.Schedule, now); err != nil {
				return nil, err
			}
		}
		for _, ed := range extra {
			if _, err := ed(v, now); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var fiveRoles = map[incident.Role][]string{
	incident.RoleIM: {"ian", "ivy"}, incident.RoleL1: {"lea", "leo"}, incident.RoleL2: {"max"},
	incident.RoleL3: {"ned"}, incident.RoleRM: {"rob"},
}

func TestRotaEditsNeedAnAdmin(t *testing.T) {
	e := newEnv(t)
	_, _, _, err := e.app.EditRota(ctx, "mallory", func(*RotaView, time.Time) ([]string, error) { return nil, nil })
	if !errors.Is(err, incident.ErrForbidden) {
		t.Fatalf("non-admin edit: %v", err)
	}
}

func TestStartStaffsFiveDistinctPeople(t *testing.T) {
	e := newEnv(t)
	e.setRota(t, fiveRoles)
	inc := e.start(t, "x")
	want := map[incident.Role]string{incident.RoleIM: "ian", incident.RoleL1: "lea", incident.RoleL2: "max", incident.RoleL3: "ned", incident.RoleRM: "rob"}
	for r, u := range want {
		if inc.Roles[r] != u {
			t.Errorf("%s = %q, want %q", r, inc.Roles[r], u)
		}
	}
	for _, u := range want {
		found := false
		for _, m := range e.chat.members[inc.ChannelID] {
			found = found || m == u
		}
		if !found {
			t.Errorf("%s not added to the incident channel", u)
		}
	}
	tl, _ := e.store.Timeline(ctx, inc.ID)
	if got := types(tl); got != "started,role_assigned,role_assigned,role_assigned,role_assigned,role_assigned" {
		t.Errorf("timeline = %s", got)
	}
}

func TestDoubleDutySubstitutesVisibly(t *testing.T) {
	e := newEnv(t)
	e.setRota(t, fiveRoles, func(v *RotaView, now time.Time) ([]string, error) {
		_, err := v.Rota.AddOverride(rota.Override{Role: incident.RoleL2, UserID: "ian", From: now.Add(-time.Hour), To: now.Add(time.Hour)})
		return nil, err
	})
	_, _, conflicts, err := e.app.EditRota(ctx, "root", func(*RotaView, time.Time) ([]string, error) { return nil, nil })
	if err != nil || len(conflicts) == 0 || !strings.Contains(conflicts[0].String(), "keeps Incident manager") {
		t.Fatalf("edit warns of no conflict: %v %v", conflicts, err)
	}
	inc := e.start(t, "x")
	if inc.Roles[incident.RoleIM] != "ian" || inc.Roles[incident.RoleL2] != "max" {
		t.Fatalf("roles = %v", inc.Roles)
	}
	if n := inc.RoleNotes[incident.RoleL2]; !strings.Contains(n, "keeps Incident manager") {
		t.Errorf("card note = %q", n)
	}
	tl, _ := e.store.Timeline(ctx, inc.ID)
	var sub *incident.Event
	for i := range tl {
		if tl[i].Type == incident.EventRoleSubstituted {
			sub = &tl[i]
		}
	}
	if sub == nil || sub.Data[incident.DataFrom] != "ian" || sub.Data[incident.DataTo] != "max" || !strings.Contains(sub.Text, "on duty for both") {
		t.Fatalf("substitution event = %+v", sub)
	}
}

func TestManualAssignmentsKeepRolesSeparate(t *testing.T) {
	e := newEnv(t)
	e.setRota(t, map[incident.Role][]string{incident.RoleIM: {"ian"}})
	inc := e.start(t, "x")
	if _, err := e.app.AssignRole(ctx, "bob", inc, incident.RoleL1, "ian"); !errors.Is(err, incident.ErrConflict) || !strings.Contains(err.Error(), "handover") {
		t.Fatalf("second role: %v", err)
	}
	inc, err := e.app.AssignRole(ctx, "bob", inc, incident.RoleL1, "bob")
	if err != nil || inc.Roles[incident.RoleL1] != "bob" {
		t.Fatalf("take open role: %v %v", err, inc.Roles)
	}
	if _, err := e.app.AssignRole(ctx, "amy", inc, incident.RoleL1, "amy"); !errors.Is(err, incident.ErrConflict) {
		t.Errorf("taking a held role: %v", err)
	}
	// Handover: only the named new holder completes it.
	if _, err = e.app.RequestHandover(ctx, "bob", inc, incident.RoleL1, "amy"); err != nil {
		t.Fatal(err)
	}
	// The follow-up posted the handover and linked its post.
	inc, err = e.store.GetIncident(ctx, inc.ID)
	if err != nil || inc.Roles[incident.RoleL1] != "bob" || inc.Handovers[incident.RoleL1].PostID == "" {
		t.Fatalf("handover request: %v %+v", err, inc)
	}
	if _, err := e.app.AcceptHandover(ctx, "bob", inc, incident.RoleL1); !errors.Is(err, incident.ErrForbidden) {
		t.Errorf("accept by the wrong person: %v", err)
	}
	inc, err = e.app.AcceptHandover(ctx, "amy", inc, incident.RoleL1)
	if err != nil || inc.Roles[incident.RoleL1] != "amy" || len(inc.Handovers) != 0 {
		t.Fatalf("accept: %v %+v", err, inc)
	}
	if len(e.chat.closed) != 1 || !strings.HasSuffix(e.chat.closed[0], "@amy") {
		t.Errorf("handover post not closed: %v", e.chat.closed)
	}
	tl, _ := e.store.Timeline(ctx, inc.ID)
	if got := types(tl); !strings.HasSuffix(got, "role_assigned,handover_requested,handover_accepted") {
		t.Errorf("timeline = %s", got)
	}
}
