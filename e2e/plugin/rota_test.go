package plugin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// roleLine returns the card's line for a role ("Second line: @user5 (...)").
func roleLine(p *model.Post, title string) string {
	for _, l := range strings.Split(cardField(p, "Roles"), "\n") {
		if strings.HasPrefix(l, title+":") {
			return l
		}
	}
	return ""
}

func TestRotaStaffsFiveDistinctRolesAndSubstitutes(t *testing.T) {
	ctx := ctxT(t)
	u := srv.Users // user1..user8
	admin := srv.Admin
	rotaCh, err := srv.NewChannel(ctx, "rota-e2e-"+uniq(), false, u...)
	if err != nil {
		t.Fatal(err)
	}

	// Editing needs an admin or a rota admin.
	mustContain(t, "non-admin edit", cmd(t, u[0], rotaCh.Id, "/incident rota set im @"+u[0].Username).Text, "only system admins and rota admins")
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id, "RotaAdmins": "@" + u[1].Username}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, wait, "rota admin setting applied", func() (bool, error) {
		r, err := srv.ExecuteCommand(ctx, u[1], rotaCh.Id, "/incident rota channel")
		return err == nil && strings.Contains(r.Text, "now the rota channel"), err
	})

	for _, c := range []string{
		"/incident rota set im @" + u[0].Username + " @" + u[1].Username,
		"/incident rota set l1 @" + u[2].Username + " @" + u[3].Username,
		"/incident rota set l2 @" + u[4].Username,
		"/incident rota set l3 @" + u[5].Username,
		"/incident rota set rm @" + u[6].Username,
	} {
		mustContain(t, c, cmd(t, admin, rotaCh.Id, c).Text, "rota set")
	}
	show := cmd(t, u[7], rotaCh.Id, "/incident rota").Text
	mustContain(t, "rota show", show, "This week", "Next week", "@"+u[0].Username, "@"+u[6].Username, "~"+rotaCh.Name)

	// 1. A clean rota: five roles, five different people, all in the channel.
	s := start(t, u[7], "Rota staffed incident")
	holders := map[string]bool{}
	for title, want := range map[string]*harness.User{"Incident manager": u[0], "First line": u[2], "Second line": u[4], "Third line": u[5], "Release manager": u[6]} {
		line := roleLine(s.Card, title)
		if !strings.Contains(line, "@"+want.Username) {
			t.Errorf("%s = %q, want @%s", title, line, want.Username)
		}
		holders[want.Id] = true
		if _, _, err := want.Client.GetChannelMember(ctx, s.Channel.Id, want.Id, ""); err != nil {
			t.Errorf("%s holder not in the incident channel: %v", title, err)
		}
	}
	if len(holders) != 5 {
		t.Fatalf("holders not distinct: %v", holders)
	}

	// 2. One person on duty for two roles: accepted with a warning, and the
	// incident substitutes, visibly on the card and the timeline.
	now := time.Now().UTC()
	// The override and the away period end with the test (off): they must
	// not staff the incidents of the tests that follow, or of this suite
	// run again on the same server; a minute from now at the latest.
	from, to := now.Add(-time.Hour).Format("2006-01-02T15:04:05Z"), now.Add(time.Minute).Format("2006-01-02T15:04:05Z")
	warn := cmd(t, admin, rotaCh.Id, "/incident rota override l1 @"+u[0].Username+" "+from+" "+to).Text
	t.Cleanup(func() {
		mustContain(t, "override off", cmd(t, admin, rotaCh.Id, "/incident rota override l1 @"+u[0].Username+" off").Text, "overrides of First line are ended")
	})
	mustContain(t, "override warning", warn, "incidents will substitute", "@"+u[0].Username, "keeps Incident manager")
	s2 := start(t, u[7], "Conflicting rota")
	l1 := roleLine(s2.Card, "First line")
	mustContain(t, "substituted L1 on card", l1, "@"+u[2].Username, "substitute", "@"+u[0].Username+" keeps Incident manager")
	mustContain(t, "IM kept", roleLine(s2.Card, "Incident manager"), "@"+u[0].Username)
	tl := cmd(t, u[7], s2.Channel.Id, "/incident timeline").Text
	mustContain(t, "substitution on timeline", tl, "substitution, First line", "@"+u[0].Username+" is on duty for both Incident manager and First line")

	// 3. Manual assignments that would give someone a second role are refused.
	mustContain(t, "role held", cmd(t, u[7], s2.Channel.Id, "/incident role l2 @"+u[7].Username).Text, "is held by @"+u[4].Username, "handover")
	mustContain(t, "second role", cmd(t, u[7], s2.Channel.Id, "/incident handover l2 @"+u[0].Username).Text, "already holds Incident manager", "one person does not hold two roles")

	// 4. A handover completes only when the new holder presses the button.
	mustContain(t, "handover", cmd(t, u[4], s2.Channel.Id, "/incident handover l2 @"+u[7].Username).Text, "requested")
	hp := waitPost(t, u[7], s2.Channel.Id, "asks you to take over **Second line**")
	c := waitCard(t, u[7], s2, "pending handover on card", func(p *model.Post) bool {
		return strings.Contains(roleLine(p, "Second line"), "handover to @"+u[7].Username+" awaiting acceptance")
	})
	mustContain(t, "still responsible", roleLine(c, "Second line"), "Second line: @"+u[4].Username)
	if _, err := srv.ClickButton(ctx, u[4], hp.Id, "acceptl2"); err != nil {
		t.Fatal(err)
	}
	if got := roleLine(card(t, u[7], s2), "Second line"); !strings.HasPrefix(got, "Second line: @"+u[4].Username) {
		t.Fatalf("someone else's click completed the handover: %q", got)
	}
	if _, err := srv.ClickButton(ctx, u[7], hp.Id, "acceptl2"); err != nil {
		t.Fatal(err)
	}
	waitCard(t, u[7], s2, "handover done on card", func(p *model.Post) bool {
		l := roleLine(p, "Second line")
		return strings.HasPrefix(l, "Second line: @"+u[7].Username) && !strings.Contains(l, "awaiting")
	})
	tl = cmd(t, u[7], s2.Channel.Id, "/incident timeline").Text
	mustContain(t, "handover on timeline", tl, "handover of Second line from @"+u[4].Username+" to @"+u[7].Username+" requested",
		"handover of Second line from @"+u[4].Username+" to @"+u[7].Username+" accepted")

	// 5. Nobody eligible: the role stays open with a Take role button.
	mustContain(t, "away", cmd(t, admin, rotaCh.Id, "/incident rota away @"+u[6].Username+" "+from+" "+to).Text, "is away")
	t.Cleanup(func() {
		mustContain(t, "away off", cmd(t, admin, rotaCh.Id, "/incident rota away @"+u[6].Username+" off").Text, "is no longer away")
	})
	s3 := start(t, u[7], "Release manager away")
	mustContain(t, "open RM", roleLine(s3.Card, "Release manager"), "open")
	if !hasAction(s3.Card, "takerm") {
		t.Fatalf("no Take role button for the open role: %v", s3.Card.Attachments()[0].Actions)
	}
	if _, err := srv.ClickButton(ctx, u[0], s3.Card.Id, "takerm"); err != nil {
		t.Fatal(err) // u[0] is IM here: refused with a reason, nothing changes
	}
	if _, _, err := u[3].Client.AddChannelMember(ctx, s3.Channel.Id, u[3].Id); err != nil { // join to see the card
		t.Fatal(err)
	}
	if _, err := srv.ClickButton(ctx, u[3], s3.Card.Id, "takerm"); err != nil {
		t.Fatal(err)
	}
	c = waitCard(t, u[7], s3, "RM taken", func(p *model.Post) bool { return strings.Contains(roleLine(p, "Release manager"), "@"+u[3].Username) })
	if hasAction(c, "takerm") {
		t.Errorf("Take role button still offered after the role was taken")
	}
}
