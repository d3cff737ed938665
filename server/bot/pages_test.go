package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// The card's title links to the incident's page, under the site URL.
func TestCardLinksToTheIncidentPage(t *testing.T) {
	b := New(&postsAPI{}, "plugin.id", "botid")
	inc := &incident.Incident{ID: "k3x9qd", Title: "DB down", Severity: incident.S2, CreatedBy: "alice"}
	if got := b.cardAttachment(inc).TitleLink; got != "/plugins/plugin.id/incidents/k3x9qd" {
		t.Errorf("without a site URL: %q", got)
	}
	b.SiteURL = func() string { return "https://chat.example.com/mm/" }
	if got := b.cardAttachment(inc).TitleLink; got != "https://chat.example.com/mm/plugins/plugin.id/incidents/k3x9qd" {
		t.Errorf("with a site URL: %q", got)
	}
}

// The postmortem's last part links to the incident's page.
func TestPostmortemLinksToTheIncidentPage(t *testing.T) {
	api := &postsAPI{fail: map[string]bool{}}
	b := New(api, "plugin.id", "botid")
	b.SiteURL = func() string { return "https://chat.example.com" }
	inc := &incident.Incident{ID: "k3x9qd", Title: "DB down", Severity: incident.S2, ChannelID: "incch"}
	if err := b.PublishPostmortem(context.Background(), inc, []string{"# Postmortem", "part two"}, "", []string{"pm"}); err != nil {
		t.Fatal(err)
	}
	link := "[Incident page](https://chat.example.com/plugins/plugin.id/incidents/k3x9qd)"
	if len(api.created) != 2 || strings.Contains(api.created[0].Message, link) || !strings.HasSuffix(api.created[1].Message, link) {
		for _, p := range api.created {
			t.Logf("%q", p.Message)
		}
		t.Errorf("want the link at the end of the last part only")
	}
}
