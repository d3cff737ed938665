package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// dmAPI is postsAPI with direct channels ("dm-<user>").
type dmAPI struct{ *postsAPI }

func (f dmAPI) GetDirectChannel(a, b string) (*model.Channel, *model.AppError) {
	return &model.Channel{Id: "dm-" + b}, nil
}

// TestReminderShowsDurationsAsPeopleWriteThem: the snooze buttons read
// "Snooze 15m", "Snooze 30m", "Snooze 1h" (not "15m0s", "1h0m0s"), and
// the message's durations are written the same way.
func TestReminderShowsDurationsAsPeopleWriteThem(t *testing.T) {
	api := dmAPI{&postsAPI{fail: map[string]bool{}}}
	b := New(api, "plugin.id", "botid")
	inc := &incident.Incident{ID: "k3x9qd", Title: "DB down", Severity: incident.S2, ChannelID: "incch"}
	if err := b.RemindUpdate(t.Context(), inc, "ian", 65*time.Second, 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	p := api.created[0]
	var names []string
	for _, a := range p.Attachments()[0].Actions {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ", "); got != "Post update, Snooze 15m, Snooze 30m, Snooze 1h" {
		t.Errorf("buttons %q", got)
	}
	if !strings.Contains(p.Message, "is overdue by 1m 5s; stakeholders expect one every 15m.") {
		t.Errorf("reminder %q", p.Message)
	}
}

// TestFreezeEndedLastedAsThePostmortemSays: a freeze from 09:30:00.9 to
// 09:30:34.1 lasted 34s, as its stamps and the postmortem say, not "under
// a minute" or "1m".
func TestFreezeEndedLastedAsThePostmortemSays(t *testing.T) {
	b, api, _, _, _ := testHotfix(t)
	since := time.Date(2026, 11, 23, 9, 30, 0, 900e6, time.UTC)
	f := &app.Freeze{Since: since, Until: time.Date(2026, 11, 23, 9, 30, 34, 100e6, time.UTC), Incidents: []string{"a1"}}
	if err := b.AnnounceFreeze(t.Context(), f, false, "bcast"); err != nil {
		t.Fatal(err)
	}
	if msg := api.created[0].Message; !strings.HasSuffix(msg, "It lasted 34s.") {
		t.Errorf("freeze ended %q, want it lasted 34s", msg)
	}
}

// TestTheBotIsShownAsTheBot: the bot's own account (the actor of alert
// events) reads like the system actor, in messages and in postmortems.
func TestTheBotIsShownAsTheBot(t *testing.T) {
	b := New(&postsAPI{}, "plugin.id", "botid")
	for _, id := range []string{"botid", incident.ActorSystem, ""} {
		if got := b.Mention(id); got != incident.BotName {
			t.Errorf("Mention(%q) = %q, want %q", id, got, incident.BotName)
		}
	}
	if got := b.QuietName("botid"); got != incident.BotName {
		t.Errorf("QuietName(bot) = %q", got)
	}
	if got := b.Mention("alice"); got != "@alice" {
		t.Errorf("Mention(alice) = %q", got)
	}
}

// TestCardTitleEscapesMarkdownAsEverywhere: the card shows the title as
// the broadcasts do.
func TestCardTitleEscapesMarkdownAsEverywhere(t *testing.T) {
	b := New(&postsAPI{}, "plugin.id", "botid")
	inc := &incident.Incident{ID: "k3x9qd", Title: "DB *primary* down", Severity: incident.S2, CreatedBy: "alice"}
	if got := b.cardAttachment(inc).Title; got != `Incident #k3x9qd: DB \*primary\* down` {
		t.Errorf("card title %q", got)
	}
}
