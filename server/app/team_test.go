package app

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// outsiderChat is a fakeChat whose platform cannot add some users to the
// incident's team (outside) or to any channel (broken), and which records
// what it was asked to tell about outsiders.
type outsiderChat struct {
	*fakeChat
	outside  map[string]bool
	broken   map[string]bool
	failTell bool
	mu       sync.Mutex
	told     []string // "user:roles" per notice actually posted
	tries    int
}

func (c *outsiderChat) AddToChannel(ctx context.Context, ch, user string) error {
	switch {
	case c.outside[user]:
		return &OutsideTeamError{UserID: user, TeamID: "team", Team: "Payments", Reason: "the team accepts only certain email domains"}
	case c.broken[user]:
		return errors.New("channel service down")
	}
	return c.fakeChat.AddToChannel(ctx, ch, user)
}

func (c *outsiderChat) TellOutsideTeam(ctx context.Context, inc *incident.Incident, roles []incident.Role, e *OutsideTeamError) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries++
	if c.failTell {
		return errors.New("post failed")
	}
	// Keyed like the bot's posts: a retried step finds its notice.
	key, _, dup := c.once.check(ctx, inc.ChannelID)
	if dup {
		return nil
	}
	c.once.made(key, "outside")
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = string(r)
	}
	c.told = append(c.told, e.UserID+":"+strings.Join(rs, ","))
	return nil
}

func (c *outsiderChat) notices() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.told...)
}

// withChat returns another App on e's store that uses chat.
func (e *env) withChat(chat Chat) *App {
	return e.app.derive(func(a *App) { a.chat = chat })
}

// TestRoleHolderOutsideTheTeam: a role holder who cannot join the
// incident's team keeps the role, and the incident manager and they are
// told, once; other failures to add someone are only logged.
func TestRoleHolderOutsideTheTeam(t *testing.T) {
	e := newEnv(t)
	e.setRota(t, map[incident.Role][]string{incident.RoleIM: {"ian"}, incident.RoleL1: {"lea"}, incident.RoleL2: {"olga"}, incident.RoleL3: {"lou"}})
	chat := &outsiderChat{fakeChat: e.chat, outside: map[string]bool{"olga": true}, broken: map[string]bool{"lou": true}}
	a := e.withChat(chat)
	inc, err := a.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "checkout down", Severity: incident.S2})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.store.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Roles[incident.RoleL2] != "olga" || got.Roles[incident.RoleL3] != "lou" {
		t.Errorf("roles must stand: %v", got.Roles)
	}
	if n := chat.notices(); len(n) != 1 || n[0] != "olga:l2" {
		t.Errorf("notices = %v, want olga told once as l2", n)
	}
	members := strings.Join(e.chat.members[inc.ChannelID], ",")
	if !strings.Contains(members, "ian") || !strings.Contains(members, "lea") || strings.Contains(members, "olga") {
		t.Errorf("members %s", members)
	}
	if p := chat.once.problems(); len(p) > 0 {
		t.Error(p)
	}

	// Assigned later by hand: told again, for this assignment.
	e.setRota(t, map[incident.Role][]string{incident.RoleRM: {"otto"}})
	chat.outside["otto"] = true
	if _, err := a.AssignRole(ctx, "ian", got, incident.RoleRM, "otto"); err != nil {
		t.Fatal(err)
	}
	if n := chat.notices(); len(n) != 2 || n[1] != "otto:rm" {
		t.Errorf("notices = %v, want otto told as rm", n)
	}
}

// TestOutsiderNoticeIsRetried: a notice that could not be posted fails the
// join step, so that the worker tries it again.
func TestOutsiderNoticeIsRetried(t *testing.T) {
	e := newEnv(t)
	chat := &outsiderChat{fakeChat: e.chat, outside: map[string]bool{"olga": true}, failTell: true}
	a := e.withChat(chat)
	inc := e.start(t, "db slow")
	if err := a.admit(ctx, inc, "olga"); err == nil || !strings.Contains(err.Error(), "post failed") {
		t.Errorf("admit = %v, want the notice's failure", err)
	}
	if err := a.admit(ctx, inc, "ann"); err != nil {
		t.Errorf("admit of a team member = %v", err)
	}
	chat.failTell = false
	if err := a.admit(ctx, inc, "olga"); err != nil || len(chat.notices()) != 1 {
		t.Errorf("admit = %v, notices %v", err, chat.notices())
	}
	// A Chat that cannot tell: logged only, no failure.
	plain := e.withChat(&outsiderChatNoTell{outsider: chat})
	if err := plain.admit(ctx, inc, "olga"); err != nil {
		t.Errorf("admit without TeamNotices = %v", err)
	}
}

// outsiderChatNoTell is a Chat that does not implement TeamNotices.
type outsiderChatNoTell struct {
	Chat
	outsider *outsiderChat
}

func (c *outsiderChatNoTell) AddToChannel(ctx context.Context, ch, user string) error {
	return c.outsider.AddToChannel(ctx, ch, user)
}

// TestHotfixSignerOutsideTheTeam: a sign-off member outside the team is
// told (holding no role), and the hotfix still opens.
func TestHotfixSignerOutsideTheTeam(t *testing.T) {
	e, a, _, _ := hotfixEnv(t)
	chat := &outsiderChat{fakeChat: e.chat, outside: map[string]bool{"sam": true}}
	a.chat = chat
	inc := e.start(t, "payments down")
	h, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "dev", Description: "raise the pool size"})
	if err != nil || h.N != 1 {
		t.Fatalf("request: %+v %v", h, err)
	}
	if n := chat.notices(); len(n) != 1 || n[0] != "sam:" {
		t.Errorf("notices = %v, want sam told with no role", n)
	}
}
