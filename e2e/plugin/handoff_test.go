package plugin_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq" // the test server's database, to read the tick job's own record
	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
)

// TestRotaHandoffAnnouncedOnceAndAcknowledged sets a daily handoff a few
// seconds ahead by command, as a rota admin would, and checks that the bot
// announces it once in the rota channel with real mentions, that holders
// (and only holders) can acknowledge it on the post, and that neither later
// ticks nor a plugin restart announce it again.
func TestRotaHandoffAnnouncedOnceAndAcknowledged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := srv.Admin
	roles := []string{"im", "l1", "l2", "l3", "rm"}
	holders := map[string]*harness.User{}
	run := uniq()
	for _, r := range roles {
		holders[r] = newUser(t, ctx, "ho"+run+"-"+r)
	}
	stranger := newUser(t, ctx, "ho"+run+"-stranger")
	im, rm := holders["im"], holders["rm"]

	ch, err := srv.NewChannel(ctx, "handoff-e2e-"+uniq(), false)
	if err != nil {
		t.Fatal(err)
	}
	// Members join by themselves (being added by someone else is a mention
	// of its own, which would muddle the counts). The release manager stays
	// out: the bot must bring them in, or the mention would not notify them.
	for _, u := range []*harness.User{holders["im"], holders["l1"], holders["l2"], holders["l3"], stranger} {
		if _, _, err := u.Client.AddChannelMember(ctx, ch.Id, u.Id); err != nil {
			t.Fatal(err)
		}
	}

	handoffBackAtEnd(t, ch)
	staffRota(t, ch, holders)
	// A daily handoff 8 s from now (robfig/cron takes an optional seconds
	// field): setting it makes yesterday's instant the start of the week in
	// progress, which is far too late to announce; today's is announced.
	at := time.Now().UTC().Add(8 * time.Second).Truncate(time.Second)
	spec := fmt.Sprintf("CRON_TZ=UTC %d %d %d * * *", at.Second(), at.Minute(), at.Hour())
	mustContain(t, "handoff", cmd(t, admin, ch.Id, `/incident rota handoff "`+spec+`"`).Text, "Handoff set")
	key := strconv.FormatInt(at.Unix(), 10)

	var post *model.Post
	harness.Eventually(t, 8*time.Second+3*schedule.DefaultTickInterval+wait, "handoff announcement", func() (bool, error) {
		ps, err := handoffPosts(ctx, ch.Id, key)
		if len(ps) > 0 {
			post = ps[0]
		}
		return post != nil, err
	})
	if time.Now().Before(at) {
		t.Errorf("announced before the handoff instant %s", at)
	}
	text := harness.PostText(post)
	t.Logf("announcement:\n%s", text)
	mustContain(t, "announcement", text, "Rota handoff: week of "+at.Format("Mon 2006-01-02 15:04 UTC"),
		// Only the roles no other test overrides (overrides cannot be
		// removed by command, and the rota is global).
		"**Incident manager**: @"+im.Username, "**Release manager**: @"+rm.Username,
		"⏳ @"+im.Username+" not yet", "⏳ @"+rm.Username+" not yet")
	if strings.Contains(text, stranger.Username) {
		t.Errorf("the announcement names a non-holder: %q", text)
	}

	// The mentions are real: the server counts them, also for the holder
	// the bot had to add to the channel.
	for _, u := range []*harness.User{im, rm} {
		harness.Eventually(t, wait, "@"+u.Username+" notified", func() (bool, error) {
			m, _, err := u.Client.GetChannelMember(ctx, ch.Id, u.Id, "")
			return err == nil && m.MentionCount >= 1, err
		})
	}

	// A non-holder's click is refused, and so is a holder's click on a
	// user's look-alike post: when the holder's later click shows, the
	// earlier ones (answered before it) have left no trace.
	if _, err := srv.ClickButton(ctx, stranger, post.Id, "ackhandoff"); err != nil {
		t.Fatal(err)
	}
	fake := &model.Post{ChannelId: ch.Id, Message: "acknowledge here"}
	fake.AddProp("handoff_key", key)
	fake.AddProp("attachments", []*model.MessageAttachment{{Actions: []*model.PostAction{{Id: "ackhandoff", Name: "Acknowledge", Type: "button",
		Integration: &model.PostActionIntegration{URL: "/plugins/" + pluginID + "/api/v1/actions/ackhandoff", Context: map[string]any{"handoff_key": key}}}}}})
	if fake, _, err = rm.Client.CreatePost(ctx, fake); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ClickButton(ctx, rm, fake.Id, "ackhandoff"); err == nil {
		t.Errorf("a button on a user's post was accepted as the handoff's")
	}
	if _, err := srv.ClickButton(ctx, im, post.Id, "ackhandoff"); err != nil {
		t.Fatal(err)
	}
	acked := waitPostText(t, ctx, post.Id, "✅ @"+im.Username+" acknowledged")
	mustContain(t, "after one acknowledgement", acked, "⏳ @"+rm.Username+" not yet")
	if strings.Contains(acked, stranger.Username) {
		t.Errorf("a non-holder's click was recorded: %q", acked)
	}
	// Acknowledging twice changes nothing.
	if _, err := srv.ClickButton(ctx, im, post.Id, "ackhandoff"); err != nil {
		t.Fatal(err)
	}
	if again := postTextNow(t, ctx, post.Id); again != acked {
		t.Errorf("second acknowledgement changed the post:\n%s\nwas\n%s", again, acked)
	}

	// Exactly once: after two more ticks, and after a restart and two ticks
	// of the new plugin process, there is still one announcement.
	waitTicks(t, ctx, 2)
	if err := srv.DisablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	if err := srv.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	waitTicks(t, ctx, 2)
	ps, err := handoffPosts(ctx, ch.Id, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("%d announcements of handoff %s, want 1", len(ps), key)
	}
}

// newUser creates a team member with a logged-in client, so that a test
// does not share people (and their mention counts) with other tests.
func newUser(t *testing.T, ctx context.Context, username string) *harness.User {
	t.Helper()
	return userOn(t, ctx, srv, username)
}

// userOn creates username on s, in its team, and logs it in.
func userOn(t *testing.T, ctx context.Context, s *harness.Server, username string) *harness.User {
	t.Helper()
	password := username + "-Passw0rd!"
	u, _, err := s.Admin.Client.CreateUser(ctx, &model.User{Username: username, Email: username + "@example.com", Password: password})
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	if _, _, err := s.Admin.Client.AddTeamMember(ctx, s.Team.Id, u.Id); err != nil {
		t.Fatalf("add %s to the team: %v", username, err)
	}
	c := model.NewAPIv4Client(s.URL)
	me, _, err := c.Login(ctx, username, password)
	if err != nil {
		t.Fatalf("log in as %s: %v", username, err)
	}
	return &harness.User{User: me, Password: password, Client: c}
}

// handoffPosts returns the bot's announcements of the handoff with key in
// channelID.
func handoffPosts(ctx context.Context, channelID, key string) ([]*model.Post, error) {
	posts, err := srv.Posts(ctx, srv.Admin, channelID)
	if err != nil {
		return nil, err
	}
	var out []*model.Post
	for _, p := range posts {
		if p.UserId == botUser.Id && p.GetProp("handoff_key") == key {
			out = append(out, p)
		}
	}
	return out, nil
}

func postTextNow(t *testing.T, ctx context.Context, postID string) string {
	t.Helper()
	p, _, err := srv.Admin.Client.GetPost(ctx, postID, "")
	if err != nil {
		t.Fatal(err)
	}
	return harness.PostText(p)
}

// waitPostText polls until the post shows want, and returns its text.
func waitPostText(t *testing.T, ctx context.Context, postID, want string) string {
	t.Helper()
	var text string
	harness.Eventually(t, wait, "post showing "+want, func() (bool, error) {
		p, _, err := srv.Admin.Client.GetPost(ctx, postID, "")
		if err != nil {
			return false, err
		}
		text = harness.PostText(p)
		return strings.Contains(text, want), nil
	})
	return text
}

// waitTicks waits until n more ticks of the cluster job have run. The
// marker is the job's own record (cron_tick), written by pluginapi/cluster
// after each run: runs finish at least an interval apart, so once it shows
// a finish more than n-1 intervals (plus a margin) after now, the last n
// runs all finished after now + margin; and ticks take milliseconds, so
// they all started after now.
func waitTicks(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	db, err := sql.Open("postgres", srv.DataSource)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	after := time.Now().Add(time.Duration(n-1)*schedule.DefaultTickInterval + 500*time.Millisecond)
	harness.Eventually(t, time.Duration(n+2)*schedule.DefaultTickInterval+wait, fmt.Sprintf("%d more ticks", n), func() (bool, error) {
		var raw []byte
		err := db.QueryRowContext(ctx, `SELECT pvalue FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey = $2`,
			pluginID, "cron_"+schedule.TickKey).Scan(&raw)
		if err != nil {
			return false, err
		}
		var meta struct{ LastFinished time.Time }
		if err := json.Unmarshal(raw, &meta); err != nil {
			return false, err
		}
		return meta.LastFinished.After(after), nil
	})
}
