package app

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// A heartbeat: beats with its token keep it up; a wrong token changes
// nothing; a missed one opens one incident, paged, however often the check
// runs; its return notes the recovery on that incident's timeline and
// arms the check again, so the next miss is noticed too.
func TestHeartbeatMissedOpensOneIncidentAndItsReturnIsNoted(t *testing.T) {
	e := newCostEnv(t)
	if _, _, err := e.app.AddHeartbeat(ctx, "alice", HeartbeatSpec{Name: "watchdog", Every: time.Minute, TeamID: "team"}); incident.KindOf(err) != incident.KindForbidden {
		t.Fatalf("a non-admin added a heartbeat: %v", err)
	}
	if _, _, err := e.app.AddHeartbeat(ctx, "root", HeartbeatSpec{Name: "watchdog", Every: time.Second, TeamID: "team"}); incident.KindOf(err) != incident.KindInvalid {
		t.Fatalf("a 1s heartbeat: %v", err)
	}
	hb, token, err := e.app.AddHeartbeat(ctx, "root", HeartbeatSpec{Name: "watchdog", Every: time.Minute, Grace: 30 * time.Second, Severity: incident.S1, TeamID: "team"})
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < 32 || strings.Contains(hb.TokenHash, token) {
		t.Fatalf("token %q, hash %q", token, hb.TokenHash)
	}
	if _, err := e.app.Beat(ctx, "watchdog", "wrong"); incident.KindOf(err) != incident.KindForbidden {
		t.Fatalf("a beat with a wrong token: %v", err)
	}
	at := t0
	beat := func() {
		t.Helper()
		if _, err := e.app.Beat(ctx, "watchdog", token); err != nil {
			t.Fatal(err)
		}
	}
	tick := func(d time.Duration) {
		at = at.Add(d)
		e.clk.set(at)
		e.app.Tick(ctx)
		e.runHeld()
	}
	for range 5 { // beats every 50 s keep it up
		tick(50 * time.Second)
		beat()
	}
	if n := len(e.chat().channels); n != 0 {
		t.Fatalf("a heartbeat that beats opened %d incidents", n)
	}
	tick(60 * time.Second) // 60 s since the last beat: within the grace
	if n := len(e.chat().channels); n != 0 {
		t.Fatalf("opened within the grace: %d", n)
	}
	tick(40 * time.Second) // 100 s: missed
	tick(30 * time.Second)
	tick(30 * time.Second)
	list, _, err := e.app.ListActive(ctx, "root", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("open incidents after the miss: %d, %v", len(list), err)
	}
	inc := list[0]
	if inc.Severity != incident.S1 || !strings.Contains(inc.Title, "Heartbeat watchdog missed") || inc.Roles[incident.RoleL1] == "" {
		t.Errorf("incident %+v", inc)
	}
	if sends := e.pager.sends(); len(sends) == 0 {
		t.Error("the missed heartbeat paged nobody")
	}
	hs, _ := e.app.Heartbeats(ctx)
	if len(hs) != 1 || !hs[0].Down() || !hs[0].Opened {
		t.Fatalf("heartbeat state %+v", hs)
	}

	beat() // back
	e.runHeld()
	events, err := e.app.store.Timeline(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := countEvents(events, incident.EventAlertResolved, "Heartbeat watchdog back"); n != 1 {
		t.Errorf("the heartbeat's return is noted %d times, want once", n)
	}
	// Missed again while its incident is open: noted there, no second one.
	tick(100 * time.Second)
	tick(30 * time.Second)
	if list, _, _ := e.app.ListActive(ctx, "root", 10); len(list) != 1 {
		t.Errorf("a second miss opened %d incidents, want the first one only", len(list))
	}
	events, _ = e.app.store.Timeline(ctx, inc.ID)
	if n := countEvents(events, incident.EventAlertRepeated, "Heartbeat watchdog missed"); n != 1 {
		t.Errorf("the second miss is noted %d times, want once", n)
	}
}

func countEvents(events []incident.Event, typ incident.EventType, text string) int {
	n := 0
	for _, ev := range events {
		if ev.Type == typ && strings.Contains(ev.Text, text) {
			n++
		}
	}
	return n
}
