package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

func testHandoff() *app.Handoff {
	week := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) // 09:00 CET
	return &app.Handoff{
		Key: app.HandoffKey(week), Week: week, End: week.AddDate(0, 0, 7), Zone: "Europe/Berlin", ChannelID: "rotach",
		Holders:       map[incident.Role]string{incident.RoleIM: "ida", incident.RoleL1: "leo", incident.RoleRM: "ida"},
		Substitutions: []rota.Substitution{{At: week, Role: incident.RoleL2, Scheduled: "leo", Reason: rota.ReasonDoubleDuty, Kept: incident.RoleL1}},
		Open:          []incident.Role{incident.RoleL2, incident.RoleL3},
		PostID:        "post1",
	}
}

func names(id string) string { return "@" + id }

func TestHandoffPostShowsStaffingAndMentionsHolders(t *testing.T) {
	p := handoffPost(testHandoff(), "botid", "plugin.id", names)
	want := []string{
		"Rota handoff: week of Mon 2026-11-23 09:00 CET",
		"On duty until Mon 2026-11-30 09:00 CET:",
		"- **Incident manager**: @ida",
		"- **First line**: @leo",
		"- **Second line**: :warning: **open**",
		"- **Third line**: :warning: **open**",
		"- **Release manager**: @ida",
		":information_source: @leo is on duty for both First line and Second line; keeps First line; nobody else in the Second line rota is available",
	}
	for _, w := range want {
		if !strings.Contains(p.Message, w) {
			t.Errorf("message lacks %q:\n%s", w, p.Message)
		}
	}
	if p.UserId != "botid" || p.ChannelId != "rotach" || p.GetProp(wire.PropHandoffKey) != app.HandoffKey(testHandoff().Week) {
		t.Errorf("post = %+v", p)
	}
	att := p.Attachments()
	if len(att) != 1 || att[0].Text != "⏳ @ida not yet\n⏳ @leo not yet" {
		t.Fatalf("attachment = %+v", att)
	}
	acts := att[0].Actions
	if len(acts) != 1 || acts[0].Id != wire.ActionAckHandoff || acts[0].Integration.URL != "/plugins/plugin.id/api/v1/actions/ackhandoff" ||
		acts[0].Integration.Context[wire.ContextHandoffKey] != app.HandoffKey(testHandoff().Week) {
		t.Errorf("actions = %+v", acts)
	}
}

func TestHandoffPostShowsAcknowledgements(t *testing.T) {
	h := testHandoff()
	h.Acks = map[string]time.Time{"ida": h.Week.Add(3 * time.Minute)}
	att := handoffPost(h, "botid", "plugin.id", names).Attachments()[0]
	if att.Text != "✅ @ida acknowledged 09:03\n⏳ @leo not yet" || len(att.Actions) != 1 || att.Color != handoffPendingColor {
		t.Errorf("one acknowledged: %+v", att)
	}
	h.Acks["leo"] = h.Week.Add(26 * time.Hour) // the next day
	att = handoffPost(h, "botid", "plugin.id", names).Attachments()[0]
	if att.Text != "✅ @ida acknowledged 09:03\n✅ @leo acknowledged Tue 11:00" || len(att.Actions) != 0 || att.Color != handoffDoneColor {
		t.Errorf("all acknowledged: %+v", att)
	}
}

func TestHandoffPostCannotMentionEveryone(t *testing.T) {
	p := handoffPost(testHandoff(), "botid", "plugin.id", func(string) string { return "@channel" })
	if bareMassMention(p.Message) || bareMassMention(p.Attachments()[0].Text) {
		t.Errorf("a mass mention survives: %q / %q", p.Message, p.Attachments()[0].Text)
	}
}
