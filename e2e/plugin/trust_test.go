package plugin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// newTeamlessUser creates and logs in a user who belongs to no team.
func newTeamlessUser(t *testing.T, ctx context.Context, username string) *harness.User {
	t.Helper()
	password := username + "-Passw0rd!"
	u, _, err := srv.Admin.Client.CreateUser(ctx, &model.User{Username: username, Email: username + "@example.com", Password: password})
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	c := model.NewAPIv4Client(srv.URL)
	if _, _, err := c.Login(ctx, username, password); err != nil {
		t.Fatalf("log in as %s: %v", username, err)
	}
	return &harness.User{User: u, Password: password, Client: c}
}

// newInviteOnlyTeam creates an invite-only team with members, and returns
// it with its town square.
func newInviteOnlyTeam(t *testing.T, ctx context.Context, name string, members ...*harness.User) (*model.Team, *model.Channel) {
	t.Helper()
	team, _, err := srv.Admin.Client.CreateTeam(ctx, &model.Team{Name: name, DisplayName: "Team " + name, Type: model.TeamInvite})
	if err != nil {
		t.Fatalf("create team %s: %v", name, err)
	}
	for _, u := range members {
		if _, _, err := srv.Admin.Client.AddTeamMember(ctx, team.Id, u.Id); err != nil {
			t.Fatalf("add %s to team %s: %v", u.Username, name, err)
		}
	}
	ts, _, err := srv.Admin.Client.GetChannelByName(ctx, model.DefaultChannelName, team.Id, "")
	if err != nil {
		t.Fatal(err)
	}
	return team, ts
}

// startIn runs `/incident start <args>` as u in channel (of team) and
// returns the incident's id and channel.
func startIn(t *testing.T, u *harness.User, team *model.Team, channel *model.Channel, args string) (string, *model.Channel) {
	t.Helper()
	resp := cmd(t, u, channel.Id, "/incident start "+args)
	m := startedRe.FindStringSubmatch(resp.Text)
	if m == nil {
		t.Fatalf("start %q: reply %q", args, resp.Text)
	}
	name := resp.GotoLocation[strings.LastIndex(resp.GotoLocation, "/")+1:]
	ch, _, err := u.Client.GetChannelByName(ctxT(t), name, team.Id, "")
	if err != nil {
		t.Fatalf("incident channel %q: %v", name, err)
	}
	return m[1], ch
}

// TestRoleHolderOutsideTheTeamIsAdded: the rota's second line belongs to
// no team; an incident started in an invite-only team makes them a
// member of that team and of its channel, so the page and the card reach
// someone who can open them. Where the team refuses them (its allowed
// email domains), the incident manager is told in the channel and they
// by direct message.
func TestRoleHolderOutsideTheTeamIsAdded(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=off, S2=off, S3=off, S4=off", "off")
	p := "tm" + uniq()
	r := newPagingRota(t, ctx, p)
	lone := newTeamlessUser(t, ctx, p+"-lone")
	setL2 := func(u *harness.User) {
		t.Helper()
		mustContain(t, "rota set l2", cmd(t, srv.Admin, r.channel.Id, "/incident rota set l2 @"+u.Username).Text, "rota set")
		t.Cleanup(func() {
			_, _ = srv.ExecuteCommand(context.Background(), srv.Admin, r.channel.Id, "/incident rota remove l2 @"+u.Username)
		})
	}
	setL2(lone)
	holders := []*harness.User{r.starter, r.holder["l1"], r.holder["l3"], r.holder["im"]}

	// An invite-only team: the bot adds the outsider to it, then to the
	// incident channel.
	team, townSquare := newInviteOnlyTeam(t, ctx, p+"-inv", holders...)
	id, ch := startIn(t, r.starter, team, townSquare, "Ledger out of balance --severity S2")
	harness.Eventually(t, wait, "the outsider joins the team and the incident channel", func() (bool, error) {
		if tm, _, err := srv.Admin.Client.GetTeamMember(ctx, team.Id, lone.Id, ""); err != nil || tm.DeleteAt != 0 {
			return false, nil
		}
		_, _, err := srv.Admin.Client.GetChannelMember(ctx, ch.Id, lone.Id, "")
		return err == nil, nil
	})
	// They can open it, and the card names them as second line.
	if _, _, err := lone.Client.GetChannel(ctx, ch.Id); err != nil {
		t.Fatalf("the outsider cannot open the incident channel: %v", err)
	}
	c := card(t, lone, started{ID: id, Channel: ch})
	if line := roleLine(c, "Second line"); !strings.Contains(line, "@"+lone.Username) {
		t.Errorf("Second line = %q", line)
	}

	// A team that only accepts another email domain refuses the next
	// outsider: the incident manager hears it in the channel, the
	// outsider by direct message, each in one line.
	refused := newTeamlessUser(t, ctx, p+"-ref")
	setL2(refused)
	strict, strictSquare := newInviteOnlyTeam(t, ctx, p+"-dom", holders...)
	strict.AllowedDomains = "example.org"
	if _, _, err := srv.Admin.Client.UpdateTeam(ctx, strict); err != nil {
		t.Fatal(err)
	}
	id2, ch2 := startIn(t, r.starter, strict, strictSquare, "Refunds stuck --severity S2")
	// Only this notice is the test's: someone an earlier test's rota
	// override still puts on duty may be outside the team too.
	notice := waitPost(t, r.holder["im"], ch2.Id, "cannot open this channel", "@\u200b"+refused.Username+" (")
	text := harness.PostText(notice)
	mustContain(t, "channel notice", text, "@\u200b"+refused.Username+" (**Second line**)", "not in team **Team "+p+"-dom**",
		"accepts only certain email domains", "@"+r.holder["im"].Username+": ask a team or system admin", "/invite @"+refused.Username)
	if strings.Contains(text, "\n") {
		t.Errorf("the notice is not one line:\n%s", text)
	}
	direct := waitPost(t, refused, dm(t, ctx, refused).Id, "#"+id2, "you cannot open its channel")
	mustContain(t, "direct notice", harness.PostText(direct), "You are **Second line** on incident #"+id2, "Refunds stuck",
		"ask a team or system admin to add you to **Team "+p+"-dom**")
	if _, _, err := srv.Admin.Client.GetTeamMember(ctx, strict.Id, refused.Id, ""); err == nil {
		t.Errorf("the refused outsider is a member of the team")
	}
	// The role stands, and the notice is not repeated.
	if line := roleLine(card(t, r.holder["im"], started{ID: id2, Channel: ch2}), "Second line"); !strings.Contains(line, "@"+refused.Username) {
		t.Errorf("Second line = %q", line)
	}
	if n := countPosts(t, ctx, r.holder["im"], ch2.Id, "cannot open this channel", "@\u200b"+refused.Username+" ("); n != 1 {
		t.Errorf("%d channel notices about @%s, want 1", n, refused.Username)
	}
}
