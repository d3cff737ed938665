package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

var pageAt = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func testPage() (*app.Page, *incident.Incident) {
	inc := &incident.Incident{ID: "k3x9qd", Title: "Checkout @here down", Severity: incident.S1, ChannelID: "incch"}
	p := &app.Page{ID: "k3x9qd-a1", IncidentID: inc.ID, ChannelID: "rotach", By: "zed", Message: "DB is on fire @channel",
		Targets: []app.PageTarget{
			{UserID: "ann", Role: incident.RoleL1, Pos: 0, At: pageAt},
			{UserID: "bob", Role: incident.RoleL2, Pos: 1, At: pageAt.Add(5 * time.Minute)},
		},
		Posts: []app.PagePost{{ID: "p1", ChannelID: "rotach", Level: 1}, {ID: "p2", ChannelID: "dm", Level: 1, DM: true}},
	}
	return p, inc
}

func testNames() *pageNames {
	return &pageNames{lookup: names, m: map[string]string{}, channel: "~incident-k3x9qd"}
}

func TestPagePostMentionsOnlyItsTarget(t *testing.T) {
	p, inc := testPage()
	b := &Bot{userID: "botid", pluginID: "plugin.id"}
	post := b.pagePost(p, inc, app.PagePost{ChannelID: "rotach", Level: 2}, testNames())
	for _, w := range []string{
		"Page: incident #k3x9qd **Checkout @\u200bhere down**",
		"@bob, please respond: you are paged as **Second line** · S1 (critical) · ~incident-k3x9qd",
		"Escalated: @\u200bann did not acknowledge.",
		"> DB is on fire @\u200bchannel",
	} {
		if !strings.Contains(post.Message, w) {
			t.Errorf("message lacks %q:\n%s", w, post.Message)
		}
	}
	if post.UserId != "botid" || post.ChannelId != "rotach" || post.GetProp(wire.PropPageID) != p.ID {
		t.Errorf("post = %+v", post)
	}
	att := post.Attachments()[0]
	if want := "⏳ Not acknowledged yet\nLevel 1: @\u200bann paged 2026-11-23 10:00 UTC\nLevel 2: @\u200bbob paged 2026-11-23 10:05 UTC"; att.Text != want {
		t.Errorf("attachment text %q, want %q", att.Text, want)
	}
	if len(att.Actions) != 1 || att.Actions[0].Id != wire.ActionAckPage || att.Actions[0].Integration.URL != "/plugins/plugin.id/api/v1/actions/ackpage" ||
		att.Actions[0].Integration.Context[wire.ContextPageID] != p.ID {
		t.Errorf("actions = %+v", att.Actions)
	}
	// Level 1 of a page by command says who paged, without notifying them.
	first := b.pagePost(p, inc, app.PagePost{Level: 1}, testNames())
	if !strings.Contains(first.Message, "@ann, please respond") || !strings.Contains(first.Message, "Paged by @\u200bzed.") {
		t.Errorf("first level message:\n%s", first.Message)
	}
	if bareMassMention(post.Message) || bareMassMention(att.Text) {
		t.Errorf("a mass mention survives: %q", post.Message)
	}
}

func TestPagePostShowsAcknowledgementWithoutButton(t *testing.T) {
	p, inc := testPage()
	p.AckedAt, p.AckedBy = pageAt.Add(6*time.Minute), "ann"
	b := &Bot{userID: "botid", pluginID: "plugin.id"}
	att := b.pagePost(p, inc, p.Posts[1], testNames()).Attachments()[0]
	if !strings.HasPrefix(att.Text, "✅ Acknowledged by @\u200bann at 2026-11-23 10:06 UTC\n") || len(att.Actions) != 0 || att.Color != pageDoneColor {
		t.Errorf("acknowledged: %+v", att)
	}
	p.AckedAt, p.ClosedAt, p.ClosedWhy = time.Time{}, pageAt.Add(time.Hour), "the incident was resolved"
	att = b.pagePost(p, nil, p.Posts[0], testNames()).Attachments()[0]
	if !strings.HasPrefix(att.Text, "⏹ Closed unacknowledged at 2026-11-23 11:00 UTC: the incident was resolved") || len(att.Actions) != 0 {
		t.Errorf("closed, incident gone: %+v", att)
	}
}
