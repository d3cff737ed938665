package app

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// The setup reads a weekly handoff back as a day, a time and a zone, sets
// the rota channel and handoff, puts the picked people first in each
// role's rotation (keeping members after the third), keeps the roles
// nobody was picked for, and starts a test incident at the least severe
// severity the rota pages for. Only system admins do any of it.
func TestSetupSetsTheRotaAndStartsAPagedTest(t *testing.T) {
	e := newCostEnv(t)
	if _, err := e.app.SetupOf(ctx, "alice", ""); incident.KindOf(err) != incident.KindForbidden {
		t.Fatalf("a non-admin's setup: %v", err)
	}
	spec, err := e.app.WeeklyHandoff(time.Tuesday, "08:30", "Europe/Berlin")
	if err != nil || spec != "CRON_TZ=Europe/Berlin 30 8 * * TUE" {
		t.Fatalf("weekly handoff = %q, %v", spec, err)
	}
	for _, bad := range [][2]string{{"8.30", "UTC"}, {"08:30", "Mars/Olympus"}, {"08:30", "Europe/Berlin 0"}} {
		if _, err := e.app.WeeklyHandoff(time.Monday, bad[0], bad[1]); incident.KindOf(err) != incident.KindInvalid {
			t.Errorf("handoff at %q in %q: %v", bad[0], bad[1], err)
		}
	}
	if err := e.app.SetupRota(ctx, "root", "", "rotachan", spec); err != nil {
		t.Fatal(err)
	}
	s, err := e.app.SetupOf(ctx, "root", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.RotaChannel != "rotachan" || s.Day != time.Tuesday || s.Clock != "08:30" || s.Zone != "Europe/Berlin" || s.Custom != "" || s.Broadcast != "bc" {
		t.Errorf("setup read back = %+v", s)
	}

	// Five first-line members; the picks take the first three places.
	if _, _, _, err := e.app.EditRotaOf(ctx, "root", "", func(v *RotaView, now time.Time) ([]string, error) {
		_, err := v.Rota.SetMembers(incident.RoleL1, []string{"m1", "m2", "m3", "m4", "m5"}, v.Schedule, now)
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := e.app.Rota(ctx)
	im := slices.Clone(before.Rota.Members[incident.RoleIM])
	v, _, err := e.app.SetupMembers(ctx, "root", "", map[incident.Role][]string{incident.RoleL1: {"p1", "m4", "p1", ""}})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Rota.Members[incident.RoleL1]; !slices.Equal(got, []string{"p1", "m4", "m5"}) {
		t.Errorf("first line = %v, want the picks, then the members after the third not picked", got)
	}
	if got := v.Rota.Members[incident.RoleIM]; !slices.Equal(got, im) {
		t.Errorf("incident managers = %v, want them kept (%v)", got, im)
	}
	if _, _, err := e.app.SetupMembers(ctx, "alice", "", map[incident.Role][]string{incident.RoleL1: {"p1"}}); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("a non-admin's picks: %v", err)
	}

	inc, err := e.app.StartSetupTest(ctx, "root", "team", "")
	if err != nil {
		t.Fatal(err)
	}
	e.runHeld()
	sends := e.pager.sends()
	if inc.Severity != incident.S3 || len(sends) == 0 || sends[len(sends)-1].target != "p1" {
		t.Errorf("test incident: %s, pages %v; want S3 (S4 pages nobody) paging p1", inc.Severity, sends)
	}
	if !strings.Contains(inc.Title, "Test incident") {
		t.Errorf("title %q", inc.Title)
	}
}
