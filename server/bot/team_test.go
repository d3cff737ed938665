package bot

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// teamAPI plays the server's membership rules: a channel admits only
// members of its team, and joining the team may be refused.
type teamAPI struct {
	postsAPI
	mu       sync.Mutex
	team     map[string]bool // team members
	channel  map[string]bool // channel members
	refuse   *model.AppError // CreateTeamMember's answer, nil = accepted
	joined   []string
	loggedIn []string
}

func (f *teamAPI) GetChannel(id string) (*model.Channel, *model.AppError) {
	return &model.Channel{Id: id, TeamId: "t1", Name: "incident-" + id}, nil
}

func (f *teamAPI) GetTeam(id string) (*model.Team, *model.AppError) {
	return &model.Team{Id: id, DisplayName: "Payments"}, nil
}

func (f *teamAPI) GetTeamMember(teamID, userID string) (*model.TeamMember, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.team[userID] {
		return nil, model.NewAppError("GetTeamMember", "app.team.get_member.missing.app_error", nil, "", http.StatusNotFound)
	}
	return &model.TeamMember{TeamId: teamID, UserId: userID}, nil
}

func (f *teamAPI) CreateTeamMember(teamID, userID string) (*model.TeamMember, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return nil, f.refuse
	}
	f.team[userID] = true
	f.joined = append(f.joined, userID)
	return &model.TeamMember{TeamId: teamID, UserId: userID}, nil
}

func (f *teamAPI) AddChannelMember(channelID, userID string) (*model.ChannelMember, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case !f.team[userID]:
		return nil, model.NewAppError("AddUserToChannel", "api.channel.add_user.to.channel.failed.deleted.app_error", nil, "", http.StatusBadRequest)
	case f.channel[userID]:
		return nil, model.NewAppError("AddUserToChannel", "exists", nil, "", http.StatusConflict)
	}
	f.channel[userID] = true
	return &model.ChannelMember{ChannelId: channelID, UserId: userID}, nil
}

func (f *teamAPI) GetDirectChannel(a, b string) (*model.Channel, *model.AppError) {
	return &model.Channel{Id: "dm-" + b, Type: model.ChannelTypeDirect}, nil
}

func (f *teamAPI) LogInfo(msg string, kv ...any) { f.loggedIn = append(f.loggedIn, msg) }

var _ plugin.API = (*teamAPI)(nil)

func newTeamAPI() *teamAPI {
	return &teamAPI{postsAPI: postsAPI{fail: map[string]bool{}}, team: map[string]bool{"ann": true}, channel: map[string]bool{}}
}

func TestAddToChannelJoinsTheTeamFirst(t *testing.T) {
	api := newTeamAPI()
	b := New(api, "plugin.id", "botid")
	for _, u := range []string{"ann", "olga", "olga"} { // a member, an outsider, again
		if err := b.AddToChannel(t.Context(), "incch", u); err != nil {
			t.Fatalf("add %s: %v", u, err)
		}
	}
	if !api.channel["ann"] || !api.channel["olga"] || !api.team["olga"] {
		t.Errorf("channel %v, team %v", api.channel, api.team)
	}
	if len(api.joined) != 1 || api.joined[0] != "olga" {
		t.Errorf("joined the team: %v, want olga once", api.joined)
	}
}

func TestAddToChannelOutsideTheTeam(t *testing.T) {
	cases := []struct {
		refusal *model.AppError
		reason  string
	}{
		{model.NewAppError("JoinUserToTeam", "api.team.join_user_to_team.allowed_domains.app_error", nil, "", http.StatusBadRequest), "accepts only certain email domains"},
		{model.NewAppError("JoinUserToTeam", "app.team.join_user_to_team.max_accounts.app_error", nil, "", http.StatusBadRequest), "the team is full"},
		{model.NewAppError("JoinUserToTeam", "app.something.else", nil, "", http.StatusInternalServerError), "the server refused: app.something.else"},
	}
	for _, c := range cases {
		api := newTeamAPI()
		api.refuse = c.refusal
		b := New(api, "plugin.id", "botid")
		err := b.AddToChannel(t.Context(), "incch", "olga")
		var out *app.OutsideTeamError
		if !errors.As(err, &out) || out.UserID != "olga" || out.TeamID != "t1" || out.Team != "Payments" || out.Reason != strings.TrimSpace(out.Reason) ||
			!strings.Contains(out.Reason, c.reason) {
			t.Errorf("%s: AddToChannel = %#v (%v)", c.refusal.Id, out, err)
		}
		if api.channel["olga"] {
			t.Errorf("%s: added to the channel", c.refusal.Id)
		}
	}
}

func TestTellOutsideTeam(t *testing.T) {
	api := newTeamAPI()
	b := New(api, "plugin.id", "botid")
	inc := &incident.Incident{ID: "k3x9qd", Title: "Checkout @all down", ChannelID: "incch", CreatedBy: "alice",
		Roles: map[incident.Role]string{incident.RoleIM: "ian", incident.RoleL2: "olga"}}
	e := &app.OutsideTeamError{UserID: "olga", TeamID: "t1", Team: "Payments", Reason: "the team is full"}
	if err := b.TellOutsideTeam(t.Context(), inc, []incident.Role{incident.RoleL2}, e); err != nil {
		t.Fatal(err)
	}
	if len(api.created) != 2 {
		t.Fatalf("posts: %v", api.created)
	}
	ch, dm := api.created[0], api.created[1]
	if ch.ChannelId != "incch" || dm.ChannelId != "dm-olga" || ch.GetProp(wire.PropIncidentID) != "k3x9qd" {
		t.Errorf("channels %s, %s", ch.ChannelId, dm.ChannelId)
	}
	for _, w := range []string{"@\u200bolga (**Second line**) cannot open this channel", "not in team **Payments**", "(the team is full)", "@ian: ask", "`/invite @olga`"} {
		if !strings.Contains(ch.Message, w) {
			t.Errorf("channel notice lacks %q:\n%s", w, ch.Message)
		}
	}
	for _, w := range []string{"You are **Second line** on incident #k3x9qd", "not in its team **Payments**", "(the team is full)", "add you to **Payments**"} {
		if !strings.Contains(dm.Message, w) {
			t.Errorf("direct message lacks %q:\n%s", w, dm.Message)
		}
	}
	if strings.Contains(dm.Message, "@all") || strings.Count(ch.Message, "\n")+strings.Count(dm.Message, "\n") != 0 {
		t.Errorf("not one clean line each:\n%s\n%s", ch.Message, dm.Message)
	}

	// The incident manager is the outsider: the starter is asked; a
	// sign-off member holds no role.
	inc.Roles[incident.RoleIM] = "olga"
	if err := b.TellOutsideTeam(t.Context(), inc, nil, e); err != nil {
		t.Fatal(err)
	}
	if m := api.created[2].Message; !strings.Contains(m, "(needed on this incident)") || !strings.Contains(m, "@alice: ask") {
		t.Errorf("channel notice:\n%s", m)
	}
	if m := api.created[3].Message; !strings.Contains(m, "You are needed on incident #k3x9qd") {
		t.Errorf("direct message:\n%s", m)
	}
}
