package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// TestChecklistPost: the checklist mentions each role's holder once, in
// the message; its step lines name people quietly; open steps have Done
// and Skip, closed ones Undo; user text cannot ping the channel.
func TestChecklistPost(t *testing.T) {
	api := &postsAPI{}
	b := New(api, "io.incidentbot.mattermost", "botid")
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	d, err := runbook.NewDefinition("bs", "", "# Start\n- [ ] [rm] Freeze deploys @channel\n- [ ] Tell support\n", "admin", at)
	if err != nil {
		t.Fatal(err)
	}
	c := runbook.NewChecklist("inc1", d, "alice", "start", at)
	if _, err := c.Done(2, "carol", at); err != nil {
		t.Fatal(err)
	}
	inc := &incident.Incident{ID: "inc1", ChannelID: "ch1", Roles: map[incident.Role]string{incident.RoleRM: "bob"}}
	id, err := b.PostChecklist(context.Background(), inc, c, map[incident.Role]string{incident.RoleRM: "bob"})
	if err != nil || id == "" {
		t.Fatalf("post: %q %v", id, err)
	}
	p := api.created[0]
	if !strings.Contains(p.Message, "@bob (Release manager): steps 1") || !strings.Contains(p.Message, "1 of 2 steps") {
		t.Fatalf("message %q", p.Message)
	}
	atts := p.Attachments()
	if len(atts) != 2 || atts[0].Pretext != "**Start**" {
		t.Fatalf("attachments %+v", atts)
	}
	if strings.Contains(atts[0].Text, "@channel") || !strings.Contains(atts[0].Text, "@\u200bbob") {
		t.Fatalf("step 1 text %q", atts[0].Text)
	}
	ids := func(i int) (out []string) {
		for _, a := range atts[i].Actions {
			out = append(out, a.Id)
		}
		return out
	}
	if got := strings.Join(ids(0), ","); got != "stepdone1,stepskip1" {
		t.Fatalf("open step buttons %s", got)
	}
	if got := strings.Join(ids(1), ","); got != "stepundo2" || !strings.Contains(atts[1].Text, "Done by @\u200bcarol") {
		t.Fatalf("closed step: %s %q", got, atts[1].Text)
	}
	if p.GetProp(PropChecklist) != "bs/0" || p.GetProp(wire.PropIncidentID) != "inc1" {
		t.Fatalf("props %v", p.GetProps())
	}
}
