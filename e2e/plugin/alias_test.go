package plugin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
)

// On-duty handles (issue 12): the default handles answer with this week's
// people, someone outside the channel gets a direct message, an override
// changes the answer at once, code and quotes do not trigger, one answer
// per handle and thread, and the rota channel's header shows who is on
// duty.

// aliasRota puts fresh users on the rota for rm (a member of the test
// channel) and l3 (not a member), in a rota channel of their own, and a
// public channel where a poster uses the handles.
type aliasRota struct {
	rm, l3, other, poster *harness.User
	channel, rotaCh       *model.Channel
}

func newAliasRota(t *testing.T, ctx context.Context) *aliasRota {
	t.Helper()
	run := "al" + uniq()
	r := &aliasRota{rm: newUser(t, ctx, run+"-rm"), l3: newUser(t, ctx, run+"-l3"), other: newUser(t, ctx, run+"-other"), poster: newUser(t, ctx, run+"-poster")}
	var err error
	if r.channel, err = srv.NewChannel(ctx, run+"-talk", false, r.rm, r.other, r.poster); err != nil {
		t.Fatal(err)
	}
	if r.rotaCh, err = srv.NewChannel(ctx, run+"-rota", false, r.rm, r.l3); err != nil {
		t.Fatal(err)
	}
	staffRota(t, r.rotaCh, map[string]*harness.User{"rm": r.rm, "l3": r.l3})
	return r
}

// say posts msg as u in channelID (in thread rootID if set).
func say(t *testing.T, ctx context.Context, u *harness.User, channelID, rootID, msg string) *model.Post {
	t.Helper()
	p, _, err := u.Client.CreatePost(ctx, &model.Post{ChannelId: channelID, RootId: rootID, Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// handleAnswers returns the bot's answers in the thread of rootID.
func handleAnswers(t *testing.T, ctx context.Context, u *harness.User, channelID, rootID string) []*model.Post {
	t.Helper()
	return botPosts(t, ctx, u, channelID, func(p *model.Post) bool {
		return p.RootId == rootID && p.GetProp("handle_answer") != nil
	})
}

// waitAnswer waits for the bot's answer in rootID's thread containing
// every one of want.
func waitAnswer(t *testing.T, ctx context.Context, u *harness.User, channelID, rootID string, want ...string) *model.Post {
	t.Helper()
	var found *model.Post
	harness.Eventually(t, wait, "handle answer with "+strings.Join(want, ", "), func() (bool, error) {
		for _, p := range handleAnswers(t, ctx, u, channelID, rootID) {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(p.Message, w)
			}
			if ok {
				found = p
			}
		}
		return found != nil, nil
	})
	return found
}

// noAnswer checks that rootID's thread gets no more than n answers over a
// few seconds.
func noAnswer(t *testing.T, ctx context.Context, u *harness.User, channelID, rootID string, n int, what string) {
	t.Helper()
	time.Sleep(3 * time.Second)
	if got := handleAnswers(t, ctx, u, channelID, rootID); len(got) > n {
		t.Fatalf("%s: %d answers, want %d: %q", what, len(got), n, got[len(got)-1].Message)
	}
}

func TestHandlesAnswerWithThisWeeksPeople(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := newAliasRota(t, ctx)

	// 1. A role handle in a public channel: the answer mentions the rota's
	// release manager; the third line, outside the channel, is named
	// quietly and told by direct message with a link to the post.
	p := say(t, ctx, r.poster, r.channel.Id, "", "Who deploys today, @release-manager? And @third-line, FYI.")
	ans := waitAnswer(t, ctx, r.poster, r.channel.Id, p.Id, "release-manager is @"+r.rm.Username+" this week", "@\u200b"+r.l3.Username, "direct message")
	if strings.Contains(ans.Message, "@"+r.l3.Username) {
		t.Fatalf("the outsider is mentioned (a mention that reaches nobody): %q", ans.Message)
	}
	dmCh := dm(t, ctx, r.l3)
	harness.Eventually(t, wait, "DM with a permalink to the outsider", func() (bool, error) {
		posts, err := srv.Posts(ctx, r.l3, dmCh.Id)
		if err != nil {
			return false, err
		}
		for _, q := range posts {
			if q.UserId == botUser.Id && strings.Contains(q.Message, "/pl/"+p.Id) && strings.Contains(q.Message, "third-line") {
				return true, nil
			}
		}
		return false, nil
	})

	// 2. The same handle again in the same thread: no second answer.
	say(t, ctx, r.poster, r.channel.Id, p.Id, "@release-manager ping again")
	noAnswer(t, ctx, r.poster, r.channel.Id, p.Id, 1, "second use in the thread")

	// 3. Code spans, code blocks and quotes do not trigger.
	for _, msg := range []string{"`@release-manager` is the handle", "```\n@release-manager\n```", "> @release-manager is @" + r.rm.Username} {
		q := say(t, ctx, r.poster, r.channel.Id, "", msg)
		noAnswer(t, ctx, r.poster, r.channel.Id, q.Id, 0, msg)
	}

	// 4. The header of the rota channel shows the release manager.
	waitHeader(t, ctx, r.rotaCh.Id, "RM @\u200b"+r.rm.Username)

	// 5. An override changes the answer, and the header, at once. It is
	// short, and the test waits for its end (there is no command to undo
	// it), so that it staffs no later test: then the header, kept by the
	// tick, shows the rota's release manager again.
	now := time.Now().UTC()
	end := now.Add(20 * time.Second).Truncate(time.Second)
	t.Cleanup(func() { time.Sleep(time.Until(end.Add(time.Second))) })
	from, to := now.Add(-time.Minute).Format(time.RFC3339), end.Format(time.RFC3339)
	cmd(t, srv.Admin, r.rotaCh.Id, "/incident rota override rm @"+r.other.Username+" "+from+" "+to)
	q := say(t, ctx, r.poster, r.channel.Id, "", "@release-manager, who is it now?")
	waitAnswer(t, ctx, r.poster, r.channel.Id, q.Id, "release-manager is @"+r.other.Username+" this week (override)")
	waitHeader(t, ctx, r.rotaCh.Id, "RM @\u200b"+r.other.Username)
	time.Sleep(time.Until(end))
	waitHeader(t, ctx, r.rotaCh.Id, "RM @\u200b"+r.rm.Username)
}

// waitHeader waits until the channel's header contains want.
func waitHeader(t *testing.T, ctx context.Context, channelID, want string) {
	t.Helper()
	harness.Eventually(t, wait, "header with "+want, func() (bool, error) {
		ch, _, err := srv.Admin.Client.GetChannel(ctx, channelID)
		return err == nil && strings.Contains(ch.Header, want) && strings.Contains(ch.Header, "On duty: "), err
	})
}

// TestHandleHeaderKeepsAdminsText checks that the header line is the
// bot's own: the admins' header text stays. It uses the second line: an
// earlier test's release manager override may still be in force.
func TestHandleHeaderKeepsAdminsText(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := "ah" + uniq()
	l2 := newUser(t, ctx, run+"-l2")
	ch, err := srv.NewChannel(ctx, run+"-rota", false, l2)
	if err != nil {
		t.Fatal(err)
	}
	admins := "Runbooks: https://example.com/runbooks"
	if _, _, err := srv.Admin.Client.PatchChannel(ctx, ch.Id, &model.ChannelPatch{Header: &admins}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = srv.ExecuteCommand(context.Background(), srv.Admin, ch.Id, "/incident rota remove l2 @"+l2.Username)
	})
	mustContain(t, "rota channel", cmd(t, srv.Admin, ch.Id, "/incident rota channel").Text, "now the rota channel")
	mustContain(t, "rota set l2", cmd(t, srv.Admin, ch.Id, "/incident rota set l2 @"+l2.Username).Text, "rota set")
	waitHeader(t, ctx, ch.Id, "L2 @\u200b"+l2.Username)
	got, _, err := srv.Admin.Client.GetChannel(ctx, ch.Id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Header, admins) || strings.Count(got.Header, "On duty: ") != 1 {
		t.Fatalf("header = %q", got.Header)
	}
}

// TestHandlePage pages the release manager through the handle, outside
// any incident, and the acknowledgement stops the page. It needs
// app.PageOnDuty.
func TestHandlePage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := newAliasRota(t, ctx)
	p := say(t, ctx, r.poster, r.channel.Id, "", "@release-manager !page build server is down")
	// The whole rota cannot be paged.
	q := say(t, ctx, r.poster, r.channel.Id, "", "@delivery-rota !page everyone")
	waitAnswer(t, ctx, r.poster, r.channel.Id, q.Id, "cannot page")

	var page *model.Post
	harness.Eventually(t, wait, "page post for the release manager", func() (bool, error) {
		posts, err := srv.Posts(ctx, r.rm, r.channel.Id)
		if err != nil {
			return false, err
		}
		for _, x := range posts {
			if x.UserId == botUser.Id && x.GetProp("page_id") != nil && strings.Contains(harness.PostText(x), "@"+r.rm.Username) {
				page = x
			}
		}
		if page == nil {
			for _, a := range handleAnswers(t, ctx, r.poster, r.channel.Id, p.Id) {
				if strings.Contains(a.Message, ":warning:") {
					t.Fatalf("page refused: %q", a.Message)
				}
			}
		}
		return page != nil, nil
	})
	if _, err := srv.ClickButton(ctx, r.rm, page.Id, "ackpage"); err != nil {
		t.Fatal(err)
	}
	waitPostAs(t, ctx, r.rm, page.Id, "Acknowledged")

	// Unanswered, a page through a handle escalates along the rota (the
	// release manager is followed by the incident manager); the
	// acknowledged one does not. The tick fires due pages oldest first,
	// so once the second page has escalated, the first would have too.
	im := newUser(t, ctx, r.rm.Username+"-im")
	mustContain(t, "rota set im", cmd(t, srv.Admin, r.rotaCh.Id, "/incident rota set im @"+im.Username).Text, "rota set")
	t.Cleanup(func() {
		_, _ = srv.ExecuteCommand(context.Background(), srv.Admin, r.rotaCh.Id, "/incident rota remove im @"+im.Username)
	})
	setPaging(t, ctx, "S1=3s, S2=3s, S3=3s, S4=off", "off")
	say(t, ctx, r.poster, r.channel.Id, "", "@release-manager !page nobody answers this one")
	first, _ := page.GetProp("page_id").(string)
	var second string
	harness.Eventually(t, wait, "the unanswered page escalates to the incident manager", func() (bool, error) {
		for _, x := range pagePosts(t, ctx, im, dm(t, ctx, im).Id, "") {
			if id, _ := x.GetProp("page_id").(string); id != first {
				second = id
			}
		}
		return second != "", nil
	})
	if n := len(pagePosts(t, ctx, im, dm(t, ctx, im).Id, first)); n != 0 {
		t.Errorf("the acknowledged page escalated anyway: %d posts to the incident manager", n)
	}
}

// TestHandleIgnoresBots checks that a post by another bot account using a
// handle gets no answer (nor does the bot's own answer trigger another).
func TestHandleIgnoresBots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := "ab" + uniq()
	poster := newUser(t, ctx, run+"-poster")
	ch, err := srv.NewChannel(ctx, run+"-talk", false, poster)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := srv.Admin.Client.CreateBot(ctx, &model.Bot{Username: run + "-bot", DisplayName: "Another bot"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.Admin.Client.AddTeamMember(ctx, srv.Team.Id, other.UserId); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.Admin.Client.AddChannelMember(ctx, ch.Id, other.UserId); err != nil {
		t.Fatal(err)
	}
	tok, _, err := srv.Admin.Client.CreateUserAccessToken(ctx, other.UserId, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	c := model.NewAPIv4Client(srv.URL)
	c.SetToken(tok.Token)
	bp, _, err := c.CreatePost(ctx, &model.Post{ChannelId: ch.Id, Message: "Deploying now, @release-manager"})
	if err != nil {
		t.Fatal(err)
	}
	// A person's post in the same channel is answered: the channel works.
	p := say(t, ctx, poster, ch.Id, "", "@delivery-rota who is on?")
	waitAnswer(t, ctx, poster, ch.Id, p.Id, "delivery-rota on duty now")
	noAnswer(t, ctx, poster, ch.Id, bp.Id, 0, "a bot's post")
	noAnswer(t, ctx, poster, ch.Id, p.Id, 1, "the bot's own answer")
}

// TestHandleHeaderFollowsHandoff sets a daily handoff a few seconds ahead
// and checks that the rota channel's header names the second line's next
// member once the handoff passes.
func TestHandleHeaderFollowsHandoff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := "hh" + uniq()
	x, y := newUser(t, ctx, run+"-x"), newUser(t, ctx, run+"-y")
	ch, err := srv.NewChannel(ctx, run+"-rota", false, x, y)
	if err != nil {
		t.Fatal(err)
	}
	handoffBackAtEnd(t, ch)
	onRota(t, ch, "l2", x, y)
	staffRota(t, ch, nil) // the rota channel
	at := time.Now().UTC().Add(8 * time.Second).Truncate(time.Second)
	spec := fmt.Sprintf("CRON_TZ=UTC %d %d %d * * *", at.Second(), at.Minute(), at.Hour())
	mustContain(t, "handoff", cmd(t, srv.Admin, ch.Id, `/incident rota handoff "`+spec+`"`).Text, "Handoff set")
	var before, after *harness.User
	harness.Eventually(t, wait, "header with the second line", func() (bool, error) {
		got, _, err := srv.Admin.Client.GetChannel(ctx, ch.Id)
		switch {
		case err != nil:
			return false, err
		case strings.Contains(got.Header, "L2 @\u200b"+x.Username):
			before, after = x, y
		case strings.Contains(got.Header, "L2 @\u200b"+y.Username):
			before, after = y, x
		}
		return before != nil, nil
	})
	if time.Now().After(at) {
		t.Skipf("the handoff passed before the header was read (slow machine); header showed @%s", before.Username)
	}
	// The tick rechecks the board at the handoff instant, and at the latest
	// a minute after its last look.
	harness.Eventually(t, 8*time.Second+time.Minute+3*schedule.DefaultTickInterval+wait, "header after the handoff", func() (bool, error) {
		got, _, err := srv.Admin.Client.GetChannel(ctx, ch.Id)
		return err == nil && strings.Contains(got.Header, "L2 @\u200b"+after.Username), err
	})
}
