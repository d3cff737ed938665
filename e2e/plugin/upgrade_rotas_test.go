package plugin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// upgradeFrom is the version before rotas had names: its installations
// have one rota, in one document.
const upgradeFrom = "ffd489e"

// TestUpgradeFromOneRotaKeepsItAll: a server runs the version before
// rotas had names; its rota gets members, an override, an away period, a
// handoff, a rota channel and a calendar feed, and an incident with a page
// that nobody has answered. Then this version is installed. The one rota
// is now the rota `main`, with all of that intact: the same staffing, the
// same feed, the page still answerable; and nothing is announced again.
func TestUpgradeFromOneRotaKeepsItAll(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	old, err := harness.BuildAt(ctx, upgradeFrom)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.InstallPlugin(context.Background(), bundle, pluginID); err != nil {
			t.Errorf("put the suite's bundle back: %v", err)
		}
	})
	if err := srv.InstallPlugin(ctx, old, pluginID); err != nil {
		t.Fatal(err)
	}
	setPaging(t, ctx, "S1=1h, S2=1h, S3=1h, S4=off", "off") // paged at the start, then nothing more
	r := newPagingRota(t, ctx, "up"+uniq())
	admin, l1 := srv.Admin, r.holder["l1"]
	handoffBackAtEnd(t, r.channel)
	mustContain(t, "handoff", cmd(t, admin, r.channel.Id, `/incident rota handoff "CRON_TZ=Europe/Berlin 0 10 * * MON"`).Text, "Europe/Berlin")
	now := time.Now().UTC()
	from, to := now.Add(-time.Hour).Format(time.RFC3339), now.Add(2*time.Hour).Format(time.RFC3339)
	stand := newUser(t, ctx, "up"+uniq()+"-stand")
	mustContain(t, "override", cmd(t, admin, r.channel.Id, "/incident rota override l3 @"+stand.Username+" "+from+" "+to).Text, "@"+stand.Username)
	t.Cleanup(func() { cmd(t, admin, r.channel.Id, "/incident rota override l3 @"+stand.Username+" off") })
	mustContain(t, "away", cmd(t, admin, r.channel.Id, "/incident rota away @"+r.holder["l2"].Username+" "+from+" "+to).Text, "is away")
	t.Cleanup(func() { cmd(t, admin, r.channel.Id, "/incident rota away @"+r.holder["l2"].Username+" off") })
	feed := calendarURL(t, l1, r.channel.Id, "/incident rota calendar")

	s := start(t, r.starter, "Before the upgrade --severity S2")
	page := waitPagePost(t, ctx, l1, r.channel.Id, l1)
	staffing := func() string {
		text := cmd(t, admin, r.channel.Id, "/incident rota show").Text
		return text[:strings.Index(text, "Handoff:")]
	}
	before := staffing()
	postsBefore := len(botPosts(t, ctx, admin, r.channel.Id, func(p *model.Post) bool { return p.RootId == "" }))

	if err := srv.InstallPlugin(ctx, bundle, pluginID); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "the one rota", cmd(t, admin, r.channel.Id, "/incident rota list").Text, "`main`", "every other team")
	after := cmd(t, admin, r.channel.Id, "/incident rota show --rota main").Text
	if got := after[:strings.Index(after, "Rota `main`")]; got != before {
		t.Errorf("the staffing changed with the upgrade:\nbefore\n%s\nafter\n%s", before, got)
	}
	mustContain(t, "rota show", after, "CRON_TZ=Europe/Berlin 0 10 * * MON", "~"+r.channel.Name, "@"+stand.Username)
	if code, cal, err := fetchFeed(ctx, feed); code != http.StatusOK || err != nil || len(cal.Events()) == 0 {
		t.Errorf("the calendar feed from before the upgrade: %d, %v, %d events", code, err, len(cal.Events()))
	}
	// The page opened before the upgrade is answered after it.
	if _, err := srv.ClickButton(ctx, l1, page.Id, "ackpage"); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, wait, "the old page acknowledged", func() (bool, error) {
		text := postTextNowAs(t, ctx, l1, page.Id)
		return strings.Contains(text, "Acknowledged by @") && strings.Contains(text, l1.Username), nil
	})
	mustContain(t, "timeline", cmd(t, r.starter, s.Channel.Id, "/incident timeline").Text, "page acknowledged")
	// Nothing announced again, after two ticks of the new version: the
	// rota channel has the posts it had (the page's post is edited, not
	// posted anew).
	waitTicks(t, ctx, 2)
	if n := len(botPosts(t, ctx, admin, r.channel.Id, func(p *model.Post) bool { return p.RootId == "" })); n != postsBefore {
		t.Errorf("the rota channel had %d posts of the bot before the upgrade and has %d after", postsBefore, n)
	}
}
