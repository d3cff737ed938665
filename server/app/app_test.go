package app

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

var ctx = context.Background()

func (e *env) start(t *testing.T, title string) *incident.Incident {
	t.Helper()
	inc, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: title, Severity: incident.S2})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func types(events []incident.Event) string {
	var s []string
	for _, e := range events {
		s = append(s, string(e.Type))
	}
	return strings.Join(s, ",")
}

func TestStartMakesAWholeIncident(t *testing.T) { forEachStore(t, testStartMakesAWholeIncident) }

func testStartMakesAWholeIncident(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	started := e.start(t, "  Payments   down ")
	inc, err := e.store.GetIncident(ctx, started.ID)
	if err != nil || inc.Title != "Payments down" || inc.Status != incident.StatusOpen || inc.CardPostID == "" || inc.ChannelID == "" || len(inc.Outbox) != 0 {
		t.Fatalf("incident = %+v, %v", inc, err)
	}
	if got := e.chat.members[inc.ChannelID]; len(got) != 1 || got[0] != "alice" {
		t.Errorf("channel members = %v", got)
	}
	if card := e.chat.cards[inc.CardPostID]; card == nil || card.CardPostID != inc.CardPostID {
		t.Errorf("card not re-rendered with its own post id: %+v", card)
	}
	if len(e.chat.announced) != 1 || e.chat.announced[0] != inc.ID+"@bc" {
		t.Errorf("announcements = %v", e.chat.announced)
	}
	tl, _ := e.store.Timeline(ctx, inc.ID)
	if types(tl) != "started" || tl[0].Actor != "alice" {
		t.Errorf("timeline = %+v", tl)
	}
	if id, err := e.store.IncidentIDForChannel(ctx, inc.ChannelID); err != nil || id != inc.ID {
		t.Errorf("channel index: %q %v", id, err)
	}
}

func TestStartFailureLeavesNothingHalfMade(t *testing.T) {
	forEachStore(t, testStartFailureLeavesNothingHalfMade)
}

func testStartFailureLeavesNothingHalfMade(t *testing.T, s storeKind) {
	// The starter joins a private channel before the answer; a public
	// one, which they may open anyway, in the follow-up.
	for _, step := range []string{"channel", "member"} {
		t.Run(step, func(t *testing.T) {
			e := newEnvOn(t, s)
			e.app.settings = func() Settings { return Settings{BroadcastChannelID: "bc", PrivateChannels: true} }
			e.chat.failAt = step
			if _, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "x"}); err == nil {
				t.Fatal("start succeeded despite a failing step")
			}
			if len(e.chat.channels) != len(e.chat.archived) {
				t.Errorf("channels created %v, archived %v", e.chat.channels, e.chat.archived)
			}
			if len(e.chat.cards) != 0 {
				t.Errorf("cards left: %v", e.chat.cards)
			}
			if list, _, _ := e.store.ListActive(ctx, 0); len(list) != 0 {
				t.Errorf("incident left in store: %+v", list[0])
			}
		})
	}
}

// TestStartInAPublicChannelDoesNotWaitForTheStartersJoin: the join is the
// follow-up's, and one that fails leaves the incident whole (the starter
// may open the channel anyway).
func TestStartInAPublicChannelDoesNotWaitForTheStartersJoin(t *testing.T) {
	e := newEnv(t)
	e.app.SetHold(func(func(context.Context)) {}) // the follow-up never runs
	inc, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.chat.members[inc.ChannelID]; len(got) != 0 {
		t.Errorf("members before the follow-up = %v, want none", got)
	}
	e = newEnv(t)
	e.chat.failAt = "member"
	inc, err = e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "x"})
	if err != nil {
		t.Fatalf("start failed for the starter's join: %v", err)
	}
	if got, _ := e.store.GetIncident(ctx, inc.ID); got.CardPostID == "" || len(got.Outbox) != 0 {
		t.Errorf("incident not whole after a failed join: %+v", got)
	}
}

func TestStartRetriesATakenChannelName(t *testing.T) {
	e := newEnv(t)
	e.chat.takenOnce = true
	inc := e.start(t, "x")
	if inc.ID != "inc002" {
		t.Errorf("id = %s, want the second id after a name clash", inc.ID)
	}
}

func TestStartValidatesInput(t *testing.T) {
	e := newEnv(t)
	for _, req := range []StartRequest{
		{TeamID: "team", ActorID: "a", Title: ""},
		{TeamID: "team", ActorID: "a", Title: strings.Repeat("x", 101)},
		{TeamID: "team", ActorID: "a", Title: "x", Severity: 9},
		{TeamID: "", ActorID: "a", Title: "x"},
	} {
		if _, err := e.app.Start(ctx, req); !errors.Is(err, incident.ErrInvalid) {
			t.Errorf("%+v: err = %v, want invalid", req, err)
		}
	}
	if len(e.chat.channels) != 0 {
		t.Errorf("invalid starts created channels: %v", e.chat.channels)
	}
}

func TestLifecycleRecordsEveryEvent(t *testing.T) { forEachStore(t, testLifecycleRecordsEveryEvent) }

func testLifecycleRecordsEveryEvent(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	inc := e.start(t, "x")
	steps := []func() error{
		func() error { _, err := e.app.PostUpdate(ctx, "bob", inc, "looking"); return err },
		func() error { _, err := e.app.AddNote(ctx, "bob", inc, "a clue", false); return err },
		func() error { _, err := e.app.ChangeSeverity(ctx, "bob", inc, incident.S1); return err },
		func() error { _, err := e.app.Mitigate(ctx, "bob", inc); return err },
		func() error { _, err := e.app.Resolve(ctx, "bob", inc, "fixed"); return err },
		func() error { _, err := e.app.Reopen(ctx, "bob", inc, "back"); return err },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if _, err := e.app.Reopen(ctx, "bob", inc, ""); !errors.Is(err, incident.ErrConflict) {
		t.Errorf("reopen of an open incident: %v", err)
	}
	if _, err := e.app.PostUpdate(ctx, "bob", inc, "   "); !errors.Is(err, incident.ErrInvalid) {
		t.Errorf("empty update: %v", err)
	}
	tl, _ := e.store.Timeline(ctx, inc.ID)
	if got := types(tl); got != "started,status_update,note,severity_changed,release_freeze_started,mitigated,resolved,release_freeze_ended,reopened,release_freeze_started" {
		t.Fatalf("timeline = %s", got)
	}
	for i := 1; i < len(tl); i++ {
		if !tl[i].At.After(tl[i-1].At) || tl[i].Seq != i {
			t.Errorf("event %d out of order: %+v after %+v", i, tl[i], tl[i-1])
		}
	}
	got, _ := e.store.GetIncident(ctx, inc.ID)
	if card := e.chat.cards[got.CardPostID]; card.Status != incident.StatusOpen || card.Severity != incident.S1 || !card.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("card shows %+v, store has %+v", card, got)
	}
}

func TestConcurrentResolvesRecordOne(t *testing.T) { forEachStore(t, testConcurrentResolvesRecordOne) }

func testConcurrentResolvesRecordOne(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	inc := e.start(t, "x")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.app.Resolve(ctx, "bob", inc, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, incident.ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	tl, _ := e.store.Timeline(ctx, inc.ID)
	if wins != 1 || conflicts != 11 || strings.Count(types(tl), "resolved") != 1 {
		t.Errorf("wins %d conflicts %d timeline %s", wins, conflicts, types(tl))
	}
}

func TestLocateHidesWhatTheActorCannotSee(t *testing.T) {
	e := newEnv(t)
	inc := e.start(t, "secret")
	e.acc[inc.ChannelID] = "alice"
	if _, err := e.app.Locate(ctx, "alice", inc.ChannelID, ""); err != nil {
		t.Fatalf("owner: %v", err)
	}
	if _, err := e.app.Locate(ctx, "mallory", "", "#"+inc.ID); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("outsider by id: %v", err)
	}
	if list, _, _ := e.app.ListActive(ctx, "mallory", 50); len(list) != 0 {
		t.Errorf("outsider lists %d incidents", len(list))
	}
	if _, err := e.app.Locate(ctx, "alice", "town-square", ""); !errors.Is(err, ErrNotIncidentChannel) {
		t.Errorf("no incident here: %v", err)
	}
	if _, err := e.app.Locate(ctx, "alice", "", "nope42"); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}
