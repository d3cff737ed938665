package app

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestCalendarTokens(t *testing.T) {
	e := newEnv(t)
	e.setRota(t, fiveRoles)
	tok, err := e.app.CalendarToken(ctx, "rob", "", false, false)
	if err != nil || !validToken(tok) {
		t.Fatalf("token %q, %v", tok, err)
	}
	if again, _ := e.app.CalendarToken(ctx, "rob", "", false, false); again != tok {
		t.Errorf("token changed without reset")
	}
	feed, err := e.app.CalendarFeed(ctx, tok, false, nil)
	if err != nil || !strings.Contains(string(feed), "SUMMARY:On duty: Release manager") {
		t.Fatalf("feed: %v\n%s", err, feed)
	}
	if _, err := e.app.CalendarFeed(ctx, tok, true, nil); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("personal token on the team route: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("0", 64), strings.ToUpper(tok), tok + "0"} {
		if _, err := e.app.CalendarFeed(ctx, bad, false, nil); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	fresh, err := e.app.CalendarToken(ctx, "rob", "", false, true)
	if err != nil || fresh == tok {
		t.Fatalf("reset: %q %v", fresh, err)
	}
	if _, err := e.app.CalendarFeed(ctx, tok, false, nil); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("old token after reset: %v", err)
	}
	if _, err := e.app.CalendarFeed(ctx, fresh, false, nil); err != nil {
		t.Errorf("new token: %v", err)
	}
	if other, _ := e.app.CalendarToken(ctx, "ian", "", false, false); other == fresh {
		t.Errorf("two users share a token")
	}

	if _, err := e.app.CalendarToken(ctx, "mallory", "", true, false); !errors.Is(err, incident.ErrForbidden) {
		t.Errorf("team token for a non-admin: %v", err)
	}
	team, err := e.app.CalendarToken(ctx, "root", "", true, false)
	if err != nil {
		t.Fatal(err)
	}
	feed, err = e.app.CalendarFeed(ctx, team, true, func(s string) string { return strings.ReplaceAll(s, "<@", "@<") })
	if err != nil || !strings.Contains(string(feed), "SUMMARY:Release manager: @<rob>") {
		t.Fatalf("team feed: %v\n%s", err, feed)
	}
	if _, err := e.app.CalendarFeed(ctx, team, false, nil); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("team token on the personal route: %v", err)
	}
	team2, _ := e.app.CalendarToken(ctx, "root", "", true, true)
	if _, err := e.app.CalendarFeed(ctx, team, true, nil); team2 == team || !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("old team token after reset: %v", err)
	}
}

// Who may read a feed is checked on every read: a rota admin who loses the
// role loses the team feed, a deactivated user their feeds, at once; the
// team token older versions shared between all admins opens nothing.
func TestCalendarFeedsFollowWhoMayReadThem(t *testing.T) {
	e := newEnv(t)
	e.setRota(t, fiveRoles)
	admin := true
	e.app.settings = func() Settings {
		if admin {
			return Settings{RotaAdmins: []string{"ada"}}
		}
		return Settings{}
	}
	team, err := e.app.CalendarToken(ctx, "ada", "", true, false)
	if err != nil {
		t.Fatal(err)
	}
	own, err := e.app.CalendarToken(ctx, "rob", "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.CalendarFeed(ctx, team, true, nil); err != nil {
		t.Fatalf("a rota admin's team feed: %v", err)
	}
	if other, _ := e.app.CalendarToken(ctx, "root", "", true, false); other == team {
		t.Error("two admins share a team feed token")
	}
	admin = false
	if _, err := e.app.CalendarFeed(ctx, team, true, nil); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("the team feed of someone no longer a rota admin: %v", err)
	}
	e.app.dir = admins{"root": true, "rob": false} // rob deactivated
	if _, err := e.app.CalendarFeed(ctx, own, false, nil); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("a deactivated user's feed: %v", err)
	}

	// The shared team token of versions before 0.2.
	legacy := newCalendarToken()
	for name, raw := range map[string]string{
		"calendar/team":                      `{"token":"` + legacy + `"}`,
		calendarTokenDoc + tokenHash(legacy): `{"team":true}`,
	} {
		if ok, err := e.store.CompareAndSetDoc(ctx, name, nil, []byte(raw)); err != nil || !ok {
			t.Fatal(name, err)
		}
	}
	if _, err := e.app.CalendarFeed(ctx, legacy, true, nil); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("the legacy shared team token: %v", err)
	}
}

// TestCalendarFeedsOfSeveralRotas: a person's feed has their duty in every
// rota, another rota's named; a rota's team feed is that rota's, for its
// own admins, who see no other rota's.
func TestCalendarFeedsOfSeveralRotas(t *testing.T) {
	e := newEnv(t)
	e.setRota(t, fiveRoles) // rob is the first rota's release manager
	if err := e.app.CreateRota(ctx, "root", "payments", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.app.EditRotaOf(ctx, "root", "payments", func(v *RotaView, now time.Time) ([]string, error) {
		_, err := v.Rota.SetMembers(incident.RoleL1, []string{"rob"}, v.Schedule, now)
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.app.SetRotaAdmins(ctx, "root", "payments", []string{"pia"}); err != nil {
		t.Fatal(err)
	}
	own, err := e.app.CalendarToken(ctx, "rob", "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := e.app.CalendarFeed(ctx, own, false, nil)
	if err != nil || !strings.Contains(string(feed), "SUMMARY:On duty: Release manager") || !strings.Contains(string(feed), "SUMMARY:[payments] On duty: First line") {
		t.Fatalf("rob's feed: %v\n%s", err, feed)
	}
	team, err := e.app.CalendarToken(ctx, "pia", "payments", true, false)
	if err != nil {
		t.Fatal(err)
	}
	feed, err = e.app.CalendarFeed(ctx, team, true, nil)
	if err != nil || !strings.Contains(string(feed), "X-WR-CALNAME:Incident rota payments") || strings.Contains(string(feed), "Release manager") {
		t.Fatalf("the payments team feed: %v\n%s", err, feed)
	}
	if _, err := e.app.CalendarToken(ctx, "pia", "", true, false); !errors.Is(err, incident.ErrForbidden) {
		t.Errorf("the payments admin got the first rota's team feed: %v", err)
	}
}
