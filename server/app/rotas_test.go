package app

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/routing"
)

// payments makes rota "payments" for team "payteam", with pat as first
// line and pia as incident manager.
func payments(t *testing.T, e *costEnv) {
	t.Helper()
	if err := e.app.CreateRota(ctx, "root", "payments", []string{"payteam"}); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := e.app.EditRotaOf(ctx, "root", "payments", func(v *RotaView, now time.Time) ([]string, error) {
		for role, ids := range map[incident.Role][]string{incident.RoleIM: {"pia"}, incident.RoleL1: {"pat"}} {
			if _, err := v.Rota.SetMembers(role, ids, v.Schedule, now); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTeamsRotasStaffAndPageTheirIncidents: an incident of the payments
// team is staffed and paged from the payments rota; another team's from
// the first rota; a rota named at the start wins; the first rota keeps its
// document, so an upgrade moves nothing.
func TestTeamsRotasStaffAndPageTheirIncidents(t *testing.T) {
	e := newCostEnv(t)
	payments(t, e)
	start := func(team, named string) *incident.Incident {
		t.Helper()
		inc, err := e.app.Start(ctx, StartRequest{TeamID: team, ActorID: "alice", Title: "Card payments fail", Severity: incident.S2, Rota: named})
		if err != nil {
			t.Fatal(err)
		}
		e.runHeld()
		return mustGet(t, e, inc.ID)
	}
	lastPage := func() string {
		sends := e.pager.sends()
		return sends[len(sends)-1].target
	}
	pay := start("payteam", "")
	if pay.Rota != "payments" || pay.Roles[incident.RoleL1] != "pat" || pay.Roles[incident.RoleIM] != "pia" || lastPage() != "pat" {
		t.Errorf("payments incident: rota %q, roles %v, paged %s; want payments, pat and pia, pat paged", pay.Rota, pay.Roles, lastPage())
	}
	if pay.Roles[incident.RoleL2] != "" {
		t.Errorf("payments has no second line, yet %s holds it", pay.Roles[incident.RoleL2])
	}
	web := start("team", "")
	if web.Rota != FirstRotaName || web.Roles[incident.RoleL1] != "lea" || lastPage() != "lea" {
		t.Errorf("other team's incident: rota %q, first line %s, paged %s; want %s, lea, lea", web.Rota, web.Roles[incident.RoleL1], lastPage(), FirstRotaName)
	}
	named := start("team", "payments")
	if named.Rota != "payments" || named.Roles[incident.RoleL1] != "pat" {
		t.Errorf("named rota: %q, first line %s", named.Rota, named.Roles[incident.RoleL1])
	}
	events, err := e.app.store.Timeline(ctx, pay.ID)
	if err != nil || len(events) == 0 || events[0].Data[incident.DataRota] != "payments" {
		t.Errorf("the start event does not name the rota: %v %v", events[:1], err)
	}
	if _, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "x", Rota: "nosuch"}); incident.KindOf(err) != incident.KindNotFound ||
		!strings.Contains(incident.UserMessage(err), "main, payments") {
		t.Errorf("unknown rota: %v, want not found naming the rotas", err)
	}
	if raw, _ := e.app.store.GetDoc(ctx, rotaDoc); raw == nil {
		t.Error("the first rota left its document")
	}
}

func TestMakingRotas(t *testing.T) {
	e := newCostEnv(t)
	if err := e.app.CreateRota(ctx, "mallory", "web", nil); !errors.Is(err, incident.ErrForbidden) {
		t.Errorf("a user made a rota: %v", err)
	}
	for _, bad := range []string{"", "Web Team", "-web", strings.Repeat("w", 33)} {
		if err := e.app.CreateRota(ctx, "root", bad, nil); incident.KindOf(err) != incident.KindInvalid {
			t.Errorf("rota named %q: %v, want invalid", bad, err)
		}
	}
	payments(t, e)
	if err := e.app.CreateRota(ctx, "root", "payments", nil); incident.KindOf(err) != incident.KindConflict {
		t.Errorf("a second rota named payments: %v", err)
	}
	if err := e.app.CreateRota(ctx, "root", "cards", []string{"payteam"}); incident.KindOf(err) != incident.KindConflict {
		t.Errorf("a second rota for the payments team: %v", err)
	}
	list, err := e.app.Rotas(ctx)
	if err != nil || len(list) != 2 || list[0].Name != FirstRotaName || !list[0].First || list[1].Name != "payments" || list[1].Teams[0] != "payteam" {
		t.Errorf("rotas: %+v, %v", list, err)
	}
	v, err := e.app.RotaOf(ctx, "PAYMENTS")
	if err != nil || v.Name != "payments" || v.Rota.Members[incident.RoleL1][0] != "pat" {
		t.Errorf("RotaOf(PAYMENTS) = %+v, %v", v, err)
	}
}

// TestRotaRulesRouteIncidentsAndAlerts: the first rule that matches picks
// the rota (an alert's labels, a title keyword); a rota named at the start
// wins over the rules; without a match the team's rota staffs; a rule
// naming a rota there is not is passed over.
func TestRotaRulesRouteIncidentsAndAlerts(t *testing.T) {
	e := newCostEnv(t)
	payments(t, e)
	rules, err := routing.Parse("alertname=CardsDown -> payments; title:ledger -> nosuch; title:checkout -> main")
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.rotaRules = rules
	e.mu.Unlock()
	for _, c := range []struct {
		req  StartRequest
		want string
	}{
		{StartRequest{TeamID: "team", Title: "Cards failing", Labels: map[string]string{"alertname": "CardsDown"}}, "payments"},
		{StartRequest{TeamID: "payteam", Title: "Checkout slow"}, "main"},
		{StartRequest{TeamID: "payteam", Title: "Checkout slow", Rota: "payments"}, "payments"},
		{StartRequest{TeamID: "payteam", Title: "Ledger out of balance"}, "payments"},
		{StartRequest{TeamID: "team", Title: "Ledger out of balance"}, "main"},
	} {
		c.req.ActorID, c.req.Severity = "alice", incident.S3
		inc, err := e.app.Start(ctx, c.req)
		if err != nil {
			t.Fatal(err)
		}
		e.runHeld()
		if inc.Rota != c.want {
			t.Errorf("%q in %s (labels %v, named %q): rota %q, want %q", c.req.Title, c.req.TeamID, c.req.Labels, c.req.Rota, inc.Rota, c.want)
		}
	}
}

// TestReassigningARota: another rota takes an incident over; its open roles
// go to that rota's people on duty, held ones stay, the timeline says so.
func TestReassigningARota(t *testing.T) {
	e := newCostEnv(t)
	payments(t, e)
	inc, err := e.app.Start(ctx, StartRequest{TeamID: "payteam", ActorID: "alice", Title: "Refunds stuck", Severity: incident.S2})
	if err != nil {
		t.Fatal(err)
	}
	e.runHeld()
	inc = mustGet(t, e, inc.ID)
	if inc.Roles[incident.RoleL2] != "" {
		t.Fatalf("payments has no second line, yet %s holds it", inc.Roles[incident.RoleL2])
	}
	out, err := e.app.ReassignRota(ctx, "alice", inc, "main")
	if err != nil {
		t.Fatal(err)
	}
	e.runHeld()
	want := map[incident.Role]string{incident.RoleIM: "pia", incident.RoleL1: "pat", incident.RoleL2: "max", incident.RoleL3: "ned", incident.RoleRM: "rob"}
	for role, u := range want {
		if out.Roles[role] != u {
			t.Errorf("%s: %q, want %q", role, out.Roles[role], u)
		}
	}
	events, err := e.app.store.Timeline(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for _, ev := range events {
		if ev.Type == incident.EventRotaChanged && ev.Data[incident.DataFrom] == "payments" && ev.Data[incident.DataTo] == "main" {
			changed++
		}
	}
	if changed != 1 || out.Rota != "main" {
		t.Errorf("rota %q, %d rota changes on the timeline", out.Rota, changed)
	}
	if _, err := e.app.ReassignRota(ctx, "alice", out, "main"); incident.KindOf(err) != incident.KindConflict {
		t.Errorf("the same rota again: %v", err)
	}
	if _, err := e.app.ReassignRota(ctx, "alice", out, "nosuch"); incident.KindOf(err) != incident.KindNotFound {
		t.Errorf("a rota there is not: %v", err)
	}
}

// TestRotaAdminsEditTheirRotaOnly: a rota's own admin edits it, not the
// first rota; a user who is no admin names no admins.
func TestRotaAdminsEditTheirRotaOnly(t *testing.T) {
	e := newCostEnv(t)
	payments(t, e)
	if err := e.app.SetRotaAdmins(ctx, "mallory", "payments", []string{"mallory"}); !errors.Is(err, incident.ErrForbidden) {
		t.Errorf("a user named themselves admin: %v", err)
	}
	if err := e.app.SetRotaAdmins(ctx, "root", "payments", []string{"pia"}); err != nil {
		t.Fatal(err)
	}
	noop := func(*RotaView, time.Time) ([]string, error) { return nil, nil }
	if _, _, _, err := e.app.EditRotaOf(ctx, "pia", "payments", noop); err != nil {
		t.Errorf("the rota's admin edits it: %v", err)
	}
	if _, _, _, err := e.app.EditRotaOf(ctx, "pia", "", noop); !errors.Is(err, incident.ErrForbidden) {
		t.Errorf("the payments admin edited the first rota: %v", err)
	}
	if err := e.app.SetRotaAdmins(ctx, "pia", "payments", []string{"pia", "pat"}); err != nil {
		t.Errorf("the rota's admin names another: %v", err)
	}
	list, _ := e.app.Rotas(ctx)
	if len(list) != 2 || len(list[1].Admins) != 2 {
		t.Errorf("rotas: %+v", list)
	}
}

func TestTeamRotaIsTheTeamsOwn(t *testing.T) {
	e := newCostEnv(t)
	payments(t, e)
	if got := e.app.TeamRota(ctx, "payteam"); got != "payments" {
		t.Errorf("payteam's rota: %q", got)
	}
	if got := e.app.TeamRota(ctx, "team"); got != "" {
		t.Errorf("a team without a rota of its own: %q", got)
	}
}

// A reassignment moves the incident's open pages: their next
// notifications go to the new rota's channel and they escalate by its
// policy, from the wait already begun.
func TestReassignMovesOpenPages(t *testing.T) {
	e := newCostEnv(t)
	payments(t, e)
	if _, _, _, err := e.app.EditRotaOf(ctx, "root", "payments", func(v *RotaView, _ time.Time) ([]string, error) {
		v.Rota.ChannelID = "paychan"
		v.Rota.Escalation.Timeouts = map[incident.Severity]time.Duration{incident.S2: time.Minute}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	inc, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "Checkout slow", Severity: incident.S2})
	if err != nil {
		t.Fatal(err)
	}
	e.runHeld()
	l, _, err := loadDoc[incidentPages](ctx, e.app.store, incidentPagesDoc(inc.ID))
	if err != nil || l == nil || len(l.IDs) != 1 {
		t.Fatalf("pages of the incident: %+v, %v", l, err)
	}
	before, err := e.app.PageRecord(ctx, l.IDs[0])
	if err != nil || before.ChannelID != "rota" {
		t.Fatalf("page before: %+v, %v", before, err)
	}
	if _, err := e.app.ReassignRota(ctx, "alice", mustGet(t, e, inc.ID), "payments"); err != nil {
		t.Fatal(err)
	}
	after, err := e.app.PageRecord(ctx, l.IDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if after.ChannelID != "paychan" || after.Timeouts[incident.S2] != time.Minute {
		t.Errorf("page after the reassignment: channel %q, timeouts %v; want paychan and S2=1m", after.ChannelID, after.Timeouts)
	}
	if want := after.WaitFrom.Add(time.Minute); !after.Due.Equal(want) && !after.Due.Before(want) {
		t.Errorf("page due %s; want by %s (the new policy's wait from the wait begun)", after.Due, want)
	}
}
