package plugin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
	"github.com/incidentbot/mattermost-incident-bot/server/app"
)

// The paging tests put their own people on the (global) rota for L1, L2,
// L3 and IM, with their own rota channel, and take them off again.

// pagingRota is a rota of fresh users, one per chain role.
type pagingRota struct {
	channel *model.Channel
	holder  map[string]*harness.User // role code -> holder
	starter *harness.User
}

// setPaging sets short paging settings for a test and restores the
// defaults after it. The settings map is replaced whole, so the broadcast
// channel is always included.
func setPaging(t *testing.T, ctx context.Context, timeouts, renotify string) {
	t.Helper()
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id,
		"EscalationTimeouts": timeouts, "RenotifyInterval": renotify, "UpdateCadence": "S1=off, S2=off, S3=off, S4=off"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(context.Background(), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id}); err != nil {
			t.Error(err)
		}
	})
}

// newPagingRota creates users prefix-l1 ... prefix-im and puts them on the
// rota, in a new rota channel.
func newPagingRota(t *testing.T, ctx context.Context, prefix string) *pagingRota {
	t.Helper()
	r := &pagingRota{holder: map[string]*harness.User{}}
	var members []*harness.User
	for _, role := range []string{"l1", "l2", "l3", "im"} {
		r.holder[role] = newUser(t, ctx, prefix+"-"+role)
		members = append(members, r.holder[role])
	}
	r.starter = newUser(t, ctx, prefix+"-starter")
	var err error
	if r.channel, err = srv.NewChannel(ctx, prefix+"-rota", false, append(members, r.starter)...); err != nil {
		t.Fatal(err)
	}
	staffRota(t, r.channel, r.holder)
	return r
}

// dm returns the direct channel between u and the bot.
func dm(t *testing.T, ctx context.Context, u *harness.User) *model.Channel {
	t.Helper()
	ch, err := srv.DirectChannel(ctx, u, &harness.User{User: botUser})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// pagePosts returns the bot's page posts (not reminders) in channelID as u
// sees them, oldest first; with pageID set, only that page's.
func pagePosts(t *testing.T, ctx context.Context, u *harness.User, channelID, pageID string) []*model.Post {
	t.Helper()
	return botPosts(t, ctx, u, channelID, func(p *model.Post) bool {
		id, _ := p.GetProp("page_id").(string)
		return id != "" && p.RootId == "" && (pageID == "" || id == pageID)
	})
}

// waitPagePost waits for the bot's page post in channelID that mentions
// u, and returns it.
func waitPagePost(t *testing.T, ctx context.Context, reader *harness.User, channelID string, u *harness.User) *model.Post {
	t.Helper()
	var found *model.Post
	harness.Eventually(t, wait, "page post for @"+u.Username, func() (bool, error) {
		for _, p := range pagePosts(t, ctx, reader, channelID, "") {
			if strings.Contains(p.Message, "@"+u.Username+", please respond") {
				found = p
			}
		}
		return found != nil, nil
	})
	return found
}

// waitPostAs polls, as u, until the post shows want, and returns it.
func waitPostAs(t *testing.T, ctx context.Context, u *harness.User, postID, want string) *model.Post {
	t.Helper()
	var p *model.Post
	harness.Eventually(t, wait, "post showing "+want, func() (bool, error) {
		var err error
		p, _, err = u.Client.GetPost(ctx, postID, "")
		return err == nil && strings.Contains(harness.PostText(p), want), err
	})
	return p
}

func postTextNowAs(t *testing.T, ctx context.Context, u *harness.User, postID string) string {
	t.Helper()
	p, _, err := u.Client.GetPost(ctx, postID, "")
	if err != nil {
		t.Fatal(err)
	}
	return harness.PostText(p)
}

func hasButton(p *model.Post, id string) bool {
	for _, a := range p.Attachments() {
		for _, act := range a.Actions {
			if act.Id == id {
				return true
			}
		}
	}
	return false
}

// acked is what a page post says once u acknowledged it: their name with a
// zero width space after the @, which shows the same but notifies nobody.
func acked(u *harness.User) string { return "✅ Acknowledged by @\u200b" + u.Username }

// waitPageDM waits for the page's post in u's direct messages with the
// bot (made right after the one in the page channel), and returns it.
func waitPageDM(t *testing.T, ctx context.Context, u *harness.User, pageID string) *model.Post {
	t.Helper()
	var found *model.Post
	ch := dm(t, ctx, u)
	harness.Eventually(t, wait, "page DM for @"+u.Username, func() (bool, error) {
		if posts := pagePosts(t, ctx, u, ch.Id, pageID); len(posts) > 0 {
			found = posts[0]
		}
		return found != nil, nil
	})
	return found
}

// staffRota makes ch the rota channel with one member per role (role code
// -> user), as the admin, and takes them off the rota again when the test
// ends: the rota is global, so a test leaves no one of its own on it.
func staffRota(t *testing.T, ch *model.Channel, holders map[string]*harness.User) {
	t.Helper()
	for role, u := range holders {
		onRota(t, ch, role, u)
	}
	mustContain(t, "rota channel", cmd(t, srv.Admin, ch.Id, "/incident rota channel").Text, "now the rota channel")
}

// onRota puts users on role's rotation, in that order, as the admin in ch,
// and takes them off again when the test ends.
func onRota(t *testing.T, ch *model.Channel, role string, users ...*harness.User) {
	t.Helper()
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = "@" + u.Username
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, n := range names {
			if _, err := srv.ExecuteCommand(ctx, srv.Admin, ch.Id, "/incident rota remove "+role+" "+n); err != nil {
				t.Error(err)
			}
		}
	})
	mustContain(t, "rota set "+role, cmd(t, srv.Admin, ch.Id, "/incident rota set "+role+" "+strings.Join(names, " ")).Text, "rota set")
}

// handoffBackAtEnd sets the default handoff again when the test ends.
func handoffBackAtEnd(t *testing.T, ch *model.Channel) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := srv.ExecuteCommand(ctx, srv.Admin, ch.Id, `/incident rota handoff "`+app.DefaultHandoff+`"`); err != nil {
			t.Error(err)
		}
	})
}
