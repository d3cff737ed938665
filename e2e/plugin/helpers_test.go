package plugin_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// wait bounds every poll for an effect; effects normally land in
// milliseconds, the margin is for a loaded CI machine.
const wait = 15 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// cmd runs a slash command as u in channelID and returns the reply text.
func cmd(t *testing.T, u *harness.User, channelID, command string) *model.CommandResponse {
	t.Helper()
	return cmdOn(t, srv, u, channelID, command)
}

// cmdOn is cmd on the server s.
func cmdOn(t *testing.T, s *harness.Server, u *harness.User, channelID, command string) *model.CommandResponse {
	t.Helper()
	resp, err := s.ExecuteCommand(ctxT(t), u, channelID, command)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	return resp
}

type started struct {
	ID      string
	Channel *model.Channel
	Card    *model.Post
}

var startedRe = regexp.MustCompile(`Incident #([a-z0-9]+) started`)

// start runs `/incident start <args>` as u in town square and returns the
// new incident, its channel and its card.
func start(t *testing.T, u *harness.User, args string) started {
	t.Helper()
	s := startNoWait(t, u, args)
	s.Card = card(t, u, s)
	return s
}

// startNoWait runs `/incident start <args>` as u and returns the incident
// and its channel without waiting for the card: its follow-up work is
// still running when it returns.
func startNoWait(t *testing.T, u *harness.User, args string) started {
	t.Helper()
	resp := cmd(t, u, srv.TownSquare.Id, "/incident start "+args)
	m := startedRe.FindStringSubmatch(resp.Text)
	if m == nil {
		t.Fatalf("start %q: reply %q", args, resp.Text)
	}
	name := resp.GotoLocation[strings.LastIndex(resp.GotoLocation, "/")+1:]
	ch, _, err := u.Client.GetChannelByName(ctxT(t), name, srv.Team.Id, "")
	if err != nil {
		t.Fatalf("incident channel %q: %v", name, err)
	}
	return started{ID: m[1], Channel: ch}
}

// card returns the incident's card as u sees it now.
func card(t *testing.T, u *harness.User, s started) *model.Post {
	t.Helper()
	var found *model.Post
	harness.Eventually(t, wait, "incident card posted", func() (bool, error) {
		posts, err := srv.Posts(ctxT(t), u, s.Channel.Id)
		if err != nil {
			return false, err
		}
		for _, p := range posts {
			if p.UserId == botUser.Id && p.GetProp("incident_id") == s.ID && len(p.Attachments()) == 1 {
				found = p
				return true, nil
			}
		}
		return false, nil
	})
	return found
}

// cardField returns the value of a field of the card's attachment.
func cardField(p *model.Post, title string) string {
	for _, f := range p.Attachments()[0].Fields {
		if f.Title == title {
			s, _ := f.Value.(string)
			return s
		}
	}
	return ""
}

// cardActions lists the card's action ids except the "Take role" buttons,
// which depend on the rota state other tests leave behind.
func cardActions(p *model.Post) []string {
	var ids []string
	for _, a := range p.Attachments()[0].Actions {
		if !strings.HasPrefix(a.Id, "take") {
			ids = append(ids, a.Id)
		}
	}
	return ids
}

// hasAction reports whether the card offers action id.
func hasAction(p *model.Post, id string) bool {
	for _, a := range p.Attachments()[0].Actions {
		if a.Id == id {
			return true
		}
	}
	return false
}

// waitCard polls until the card, as u sees it, satisfies ok.
func waitCard(t *testing.T, u *harness.User, s started, what string, ok func(*model.Post) bool) *model.Post {
	t.Helper()
	var last *model.Post
	harness.Eventually(t, wait, what, func() (bool, error) {
		p, _, err := u.Client.GetPost(ctxT(t), s.Card.Id, "")
		if err != nil {
			return false, err
		}
		last = p
		return ok(p), nil
	})
	return last
}

// waitPost polls until a post by the bot in channelID contains all of want,
// and returns it.
func waitPost(t *testing.T, u *harness.User, channelID string, want ...string) *model.Post {
	t.Helper()
	var found *model.Post
	harness.Eventually(t, wait, "bot post containing "+strings.Join(want, ", "), func() (bool, error) {
		posts, err := srv.Posts(ctxT(t), u, channelID)
		if err != nil {
			return false, err
		}
		for _, p := range posts {
			if p.UserId == botUser.Id && containsAll(harness.PostText(p), want...) {
				found = p
				return true, nil
			}
		}
		return false, nil
	})
	return found
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Fatalf("%s: %q does not contain %q", what, s, sub)
		}
	}
}

// listed waits until u's `/incident list` shows every one of subs: a new
// incident joins the listings with its follow-up, a moment after its
// start.
func listed(t *testing.T, u *harness.User, subs ...string) {
	t.Helper()
	var last string
	harness.Eventually(t, 10*time.Second, "incident list showing "+strings.Join(subs, ", "), func() (bool, error) {
		last = cmd(t, u, srv.TownSquare.Id, "/incident list").Text
		for _, sub := range subs {
			if !strings.Contains(last, sub) {
				return false, nil
			}
		}
		return true, nil
	})
}

// incidentChannels counts the team's incident channels u can see.
func incidentChannels(t *testing.T) int {
	t.Helper()
	chans, _, err := srv.Admin.Client.GetPublicChannelsForTeam(ctxT(t), srv.Team.Id, 0, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range chans {
		if strings.HasPrefix(c.Name, "incident-") {
			n++
		}
	}
	return n
}

// waitCmd runs command as u in channelID until its reply contains all of
// want, and returns the reply: for effects the bot's worker makes right
// after a command (timeline events, the release freeze).
func waitCmd(t *testing.T, u *harness.User, channelID, command string, want ...string) string {
	t.Helper()
	var last string
	harness.Eventually(t, wait, command+" replying "+strings.Join(want, ", "), func() (bool, error) {
		r, err := srv.ExecuteCommand(ctxT(t), u, channelID, command)
		if err != nil {
			return false, err
		}
		last = r.Text
		return containsAll(last, want...), nil
	})
	return last
}

// uniq returns a short random suffix for names the server keeps (users,
// channels), so that a test passes again on the same server (-count=2).
func uniq() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])[:5]
}

// botPosts returns the bot's posts in channelID that keep accepts, as u
// sees them, oldest first.
func botPosts(t *testing.T, ctx context.Context, u *harness.User, channelID string, keep func(*model.Post) bool) []*model.Post {
	t.Helper()
	posts, err := srv.Posts(ctx, u, channelID)
	if err != nil {
		t.Fatal(err)
	}
	var out []*model.Post
	for _, p := range posts {
		if p.UserId == botUser.Id && keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// noHealthCheck turns the first server's plugin health check off until the
// test ends, for tests that kill and restart plugins themselves: the check
// would restart them too, only every 30 s, racing the test's own restart,
// and it gives a plugin up for good after its third failure within an
// hour.
func noHealthCheck(t *testing.T, ctx context.Context) {
	t.Helper()
	cfg, _, err := srv.Admin.Client.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	healthCheck := cfg.PluginSettings.EnableHealthCheck == nil || *cfg.PluginSettings.EnableHealthCheck
	if err := srv.PatchConfig(ctx, map[string]map[string]any{"PluginSettings": {"EnableHealthCheck": false}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchConfig(context.Background(), map[string]map[string]any{"PluginSettings": {"EnableHealthCheck": healthCheck}}); err != nil {
			t.Errorf("restore the plugin health check: %v", err)
		}
	})
}
