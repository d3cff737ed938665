package plugin_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// Self-service on a rota with approval on: a member asks to take another's
// shift, the request waits in the rota channel, the rota's admin approves
// with its button, and the shift changes hands everywhere (staffing, the
// person's calendar feed, the history); the member on duty offers a shift
// and another takes it with a button; with notices on, next week's first
// line hears of their duty by direct message.
func TestTakeAShiftWithApproval(t *testing.T) {
	ctx := ctxT(t)
	name := "shift" + uniq()
	ann, ben, adm := newUser(t, ctx, name+"-ann"), newUser(t, ctx, name+"-ben"), newUser(t, ctx, name+"-adm")
	ch, err := srv.NewChannel(ctx, name+"-rota", false, ann, ben, adm)
	if err != nil {
		t.Fatal(err)
	}
	rotaCmd := func(u *harness.User, args string) string {
		t.Helper()
		return cmd(t, u, ch.Id, "/incident rota "+args+" --rota "+name).Text
	}
	mustContain(t, "create", cmd(t, srv.Admin, ch.Id, "/incident rota create "+name).Text, "made")
	// The week turns six days and some hours from now, so that the shifts
	// below lie in this week, whatever the day the test runs.
	turn := time.Now().UTC().Add(-time.Hour)
	mustContain(t, "handoff", rotaCmd(srv.Admin, fmt.Sprintf(`handoff "CRON_TZ=UTC %d %d * * %s"`, turn.Minute(), turn.Hour(), strings.ToUpper(turn.Weekday().String()[:3]))), "Handoff set")
	mustContain(t, "members", rotaCmd(srv.Admin, "set l1 @"+ann.Username+" @"+ben.Username), "2 members")
	rotaCmd(srv.Admin, "channel")
	mustContain(t, "admins", rotaCmd(srv.Admin, "admins @"+adm.Username), "Rota admins")
	mustContain(t, "approval", rotaCmd(adm, "approval on"), "needs a rota admin's approval")
	mustContain(t, "not an admin", rotaCmd(ben, "approval off"), "only system admins and rota admins")

	from := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Hour)
	to := from.Add(3 * time.Hour)
	when := func(t time.Time) string { return t.Format("2006-01-02 15:04") }
	mustContain(t, "take", rotaCmd(ben, "take l1 "+when(from)+" "+when(to)), "Asked: a rota admin approves")
	mustContain(t, "still ann's", rotaCmd(ben, "show "+when(from.Add(time.Hour))), "| First line | @"+ann.Username)
	req := waitPost(t, adm, ch.Id, "@"+ben.Username+" would take @"+ann.Username+"'s **First line** shift", "Waiting for approval by @"+adm.Username)
	if !hasAction(req, "shiftapprove") || !hasAction(req, "shiftdecline") {
		t.Fatalf("request post has no approval buttons: %v", cardActions(req))
	}
	// Only a rota admin approves.
	if _, err := srv.ClickButton(ctx, ann, req.Id, "shiftapprove"); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "still ann's after her click", rotaCmd(ben, "show "+when(from.Add(time.Hour))), "| First line | @"+ann.Username)
	if _, err := srv.ClickButton(ctx, adm, req.Id, "shiftapprove"); err != nil {
		t.Fatal(err)
	}
	waitPostAs(t, ctx, adm, req.Id, "Approved by @"+adm.Username)
	mustContain(t, "ben's now", rotaCmd(ann, "show "+when(from.Add(time.Hour))), "| First line | @"+ben.Username+" (override)")
	annDM, _, err := ann.Client.CreateDirectChannel(ctx, ann.Id, botUser.Id)
	if err != nil {
		t.Fatal(err)
	}
	waitPost(t, ann, annDM.Id, "@"+ben.Username+" takes your First line shift")

	// Ben's calendar feed has the shift, and whose it was.
	url := calendarURL(t, ben, ch.Id, "/incident rota calendar --rota "+name)
	harness.Eventually(t, wait, "the taken shift in ben's feed", func() (bool, error) {
		_, cal, err := fetchFeed(ctx, url)
		if err != nil {
			return false, err
		}
		for _, ev := range feedEvents(t, cal) {
			if strings.Contains(ev.summary, "First line (taken from @"+ann.Username+")") && ev.start.Equal(from) && ev.end.Equal(to) {
				return true, nil
			}
		}
		return false, nil
	})

	// An offer, taken with its button (no approval now).
	mustContain(t, "approval off", rotaCmd(adm, "approval off"), "without approval")
	later := to.Add(time.Hour)
	mustContain(t, "offer", rotaCmd(ann, "offer l1 "+when(later)+" "+when(later.Add(time.Hour))), "Offered in the rota channel")
	offer := waitPost(t, ben, ch.Id, "@"+ann.Username+" offers their **First line** shift")
	if _, err := srv.ClickButton(ctx, ben, offer.Id, "shifttake"); err != nil {
		t.Fatal(err)
	}
	waitPostAs(t, ctx, ben, offer.Id, "@"+ben.Username+" takes @"+ann.Username+"'s")
	mustContain(t, "offer taken", rotaCmd(ann, "show "+when(later.Add(30*time.Minute))), "| First line | @"+ben.Username)

	hist := rotaCmd(ann, "history")
	mustContain(t, "history", hist, "@"+ben.Username+" asked to take @"+ann.Username+"'s First line shift", "@"+adm.Username+" approved",
		"@"+ann.Username+" offered their First line shift", "@"+ben.Username+" took @"+ann.Username+"'s", "/incident rota approval on")

	// Notices on: ben, first line next week, hears of it.
	mustContain(t, "notices", rotaCmd(adm, "notices on"), "told by direct message")
	benDM, _, err := ben.Client.CreateDirectChannel(ctx, ben.Id, botUser.Id)
	if err != nil {
		t.Fatal(err)
	}
	notice := waitPost(t, ben, benDM.Id, "Your duty next week in rota `"+name+"`")
	mustContain(t, "notice", notice.Message, "**First line**", "/incident rota offer l1")
	if p := botPosts(t, ctx, ann, annDM.Id, func(p *model.Post) bool { return strings.Contains(p.Message, "Your duty next week") }); len(p) != 0 {
		t.Errorf("ann, not on duty next week, was told: %q", p[0].Message)
	}
}
