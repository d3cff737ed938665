package plugin_test

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// TestUserTextCannotMentionEveryone proves on the server's own mention
// counting that @channel/@all/@here in titles, summaries, updates, notes and
// resolutions notify nobody, while the same words from a user do.
func TestUserTextCannotMentionEveryone(t *testing.T) {
	alice, watcher := srv.Users[0], srv.Users[7]
	ctx := ctxT(t)
	mentions := func(channelID string) int64 {
		m, _, err := watcher.Client.GetChannelMember(ctx, channelID, watcher.Id, "")
		if err != nil {
			t.Fatal(err)
		}
		return m.MentionCount
	}
	// A bot outside a channel lacks the use_channel_mentions permission there,
	// which would hide a failure; make it a member so only the sanitiser
	// stands between user text and a channel-wide notification.
	if _, _, err := srv.Admin.Client.AddTeamMember(ctx, srv.Team.Id, botUser.Id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.Admin.Client.AddChannelMember(ctx, broadcast.Id, botUser.Id); err != nil {
		t.Fatal(err)
	}
	// Control: the counter does move for a real @channel in the broadcast channel.
	base := mentions(broadcast.Id)
	if _, _, err := alice.Client.CreatePost(ctx, &model.Post{ChannelId: broadcast.Id, Message: "control @channel"}); err != nil {
		t.Fatal(err)
	}
	waitMentions := func(channelID string, want int64) {
		t.Helper()
		harness.Eventually(t, wait, "watcher's mention count reaches the expected value", func() (bool, error) {
			return mentions(channelID) == want, nil
		})
	}
	waitMentions(broadcast.Id, base+1)
	base++

	evil := "@channel @all @here \\@channel **@all** [@here](http://x)"
	s := start(t, alice, "Outage "+evil+" --severity S1 --summary summary "+evil)
	if _, _, err := srv.Admin.Client.AddChannelMember(ctx, s.Channel.Id, botUser.Id); err != nil {
		t.Fatal(err)
	}
	// The watcher joins by themselves: being added by someone else is a
	// mention of its own, which would muddle the count.
	if _, _, err := watcher.Client.AddChannelMember(ctx, s.Channel.Id, watcher.Id); err != nil {
		t.Fatal(err)
	}
	chBase := mentions(s.Channel.Id)
	cmd(t, alice, s.Channel.Id, "/incident update update "+evil)
	cmd(t, alice, s.Channel.Id, "/incident note note "+evil)
	cmd(t, alice, s.Channel.Id, "/incident resolve resolved "+evil)
	last := waitPost(t, alice, broadcast.Id, "#"+s.ID, "resolved "+"@")

	// A marker post after everything: once the watcher's counters include it,
	// they include all the bot's posts before it.
	if _, _, err := alice.Client.CreatePost(ctx, &model.Post{ChannelId: broadcast.Id, Message: "marker @" + watcher.Username}); err != nil {
		t.Fatal(err)
	}
	waitMentions(broadcast.Id, base+1)
	if got := mentions(s.Channel.Id); got != chBase {
		t.Errorf("incident channel mention count %d -> %d: user text mentioned everyone", chBase, got)
	}
	for _, p := range append(postsOf(t, s.Channel.Id), last) {
		if p.UserId != botUser.Id {
			continue
		}
		text := strings.ToLower(harness.PostText(p))
		for _, w := range []string{"@channel", "@all", "@here"} {
			if strings.Contains(text, w) {
				t.Errorf("bot post holds a live %s: %q", w, p.Message)
			}
		}
	}
}

func postsOf(t *testing.T, channelID string) []*model.Post {
	t.Helper()
	posts, err := srv.Posts(ctxT(t), srv.Admin, channelID)
	if err != nil {
		t.Fatal(err)
	}
	return posts
}

func TestBadInputGetsOneLineErrorsAndCreatesNothing(t *testing.T) {
	alice := srv.Users[0]
	before := incidentChannels(t)
	cases := []struct{ command, want string }{
		{"/incident frobnicate", "Unknown command `frobnicate`"},
		{"/incident start " + strings.Repeat("x", 101), "101 characters"},
		{"/incident start Real title --severity S7", "unknown severity \"S7\""},
		{"/incident start Real title --sev S1", "unknown option --sev"},
		{"/incident start Real title --summary", "--summary needs text"},
		{"/incident update all good", "not an incident channel"},
		{"/incident update #zzzz9999 hello", "no incident #zzzz9999"},
		{"/incident timeline zzzz9999", "no incident #zzzz9999"},
		{"/incident severity #zzzz9999 S1", "no incident"},
	}
	for _, c := range cases {
		got := cmd(t, alice, srv.TownSquare.Id, c.command).Text
		mustContain(t, c.command, got, c.want)
	}
	if n := incidentChannels(t); n != before {
		t.Errorf("bad input created %d incident channels", n-before)
	}
	s := start(t, alice, "Valid one")
	for _, c := range []struct{ command, want string }{
		{"/incident severity", "name the new severity"},
		{"/incident severity S9", "unknown severity"},
		{"/incident update", ""}, // opens the dialog; no error
		{"/incident note", "the note is empty"},
		{"/incident mitigate now please", "mitigate takes no text"},
		{"/incident reopen", "only a resolved incident"},
	} {
		got := cmd(t, alice, s.Channel.Id, c.command).Text
		if c.want == "" && strings.Contains(got, "Usage") {
			t.Errorf("%s: unexpected error %q", c.command, got)
		}
		mustContain(t, c.command, got, c.want)
	}
}

func TestPrivateIncidentInvisibleToOutsiders(t *testing.T) {
	if err := srv.PatchPluginConfig(ctxT(t), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id, "PrivateChannels": true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.PatchPluginConfig(ctxT(t), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id, "PrivateChannels": false})
	})
	// user8 is in no rota, so no rota staffing makes them a member.
	owner, outsider := srv.Users[1], srv.Users[7]
	s := start(t, owner, "Security review")
	if s.Channel.Type != model.ChannelTypePrivate {
		t.Fatalf("channel type %q, want private", s.Channel.Type)
	}
	got := cmd(t, outsider, srv.TownSquare.Id, "/incident resolve #"+s.ID+" not mine").Text
	mustContain(t, "outsider resolve", got, "no incident #"+s.ID)
	if strings.Contains(cmd(t, outsider, srv.TownSquare.Id, "/incident list").Text, s.ID) {
		t.Errorf("outsider sees the private incident in the list")
	}
	if _, err := srv.ClickButton(ctxT(t), outsider, s.Card.Id, "mitigate"); err == nil {
		t.Errorf("outsider clicked a private card's button")
	}
	if got := cardField(card(t, owner, s), "Status"); got != "Open" {
		t.Errorf("outsider changed a private incident: %s", got)
	}
}
