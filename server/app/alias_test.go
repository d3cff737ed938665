package app

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/alias"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
)

// fakeOnDuty records answers and boards.
type fakeOnDuty struct {
	mu      sync.Mutex
	answers [][]HandleAnswer
	pages   []HandlePage
	boards  []*Board
}

func (f *fakeOnDuty) GroupSync() bool { return false }

func (f *fakeOnDuty) AnswerHandles(_ context.Context, _ HandlePost, answers []HandleAnswer, pages []HandlePage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(answers) > 0 {
		f.answers = append(f.answers, answers)
	}
	f.pages = append(f.pages, pages...)
	return nil
}

func (f *fakeOnDuty) ShowOnDuty(_ context.Context, b *Board) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.boards = append(f.boards, b)
	return nil
}

func newHandleApp(t *testing.T) (*App, *fakeOnDuty, *clock) {
	t.Helper()
	h, err := alias.ParseHandles(alias.DefaultHandles, alias.DefaultGroupPattern)
	if err != nil {
		t.Fatal(err)
	}
	od := &fakeOnDuty{}
	clk := &clock{t: time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC)}
	chat := newFakeChat()
	a, err := New(Deps{
		Inline: true, Store: defaultStore.open(t), Chat: chat, Notifier: chat, Access: access{}, Directory: admins{"root": true},
		Schedules: func(spec string) (rota.Schedule, *time.Location, error) {
			s, err := schedule.Parse(spec)
			if err != nil {
				return nil, nil, err
			}
			return s, s.Location, nil
		},
		Settings: func() Settings { return Settings{Policy: rota.Policy{Priority: incident.Roles}, Handles: h} },
		Clock:    clk.now, IDs: func() string { return "x" }, OnDuty: od, Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, od, clk
}

func TestAnswerHandles(t *testing.T) {
	ctx := context.Background()
	a, od, clk := newHandleApp(t)
	edit := func(f func(r *rota.Rota, v *RotaView, now time.Time) error) {
		t.Helper()
		if _, _, _, err := a.EditRota(ctx, "root", func(v *RotaView, now time.Time) ([]string, error) { return nil, f(v.Rota, v, now) }); err != nil {
			t.Fatal(err)
		}
	}
	edit(func(r *rota.Rota, v *RotaView, now time.Time) error {
		if _, err := r.SetMembers(incident.RoleRM, []string{"alice", "bob"}, v.Schedule, now); err != nil {
			return err
		}
		r.ChannelID = "rotach"
		return nil
	})
	// The edit showed the board.
	if n := len(od.boards); n == 0 || od.boards[n-1].Holders[incident.RoleRM] != "alice" || od.boards[n-1].ChannelID != "rotach" {
		t.Fatalf("boards after edit: %+v", od.boards)
	}
	post := HandlePost{PostID: "p1", ChannelID: "c", UserID: "u", Uses: alias.Find("hi @release-manager and @nobody")}
	if err := a.AnswerHandles(ctx, post); err != nil {
		t.Fatal(err)
	}
	if len(od.answers) != 1 || od.answers[0][0].People[0].UserID != "alice" || od.answers[0][0].Target.Role != incident.RoleRM {
		t.Fatalf("answers: %+v", od.answers)
	}
	// Again in the same thread: not answered.
	post2 := post
	post2.PostID, post2.RootID = "p2", "p1"
	if err := a.AnswerHandles(ctx, post2); err != nil {
		t.Fatal(err)
	}
	if len(od.answers) != 1 {
		t.Fatalf("answered twice in a thread: %+v", od.answers)
	}
	// Alice away: Bob covers, and the answer says for whom.
	now := clk.now()
	edit(func(r *rota.Rota, _ *RotaView, _ time.Time) error {
		_, err := r.AddAway(rota.Away{UserID: "alice", From: now.Add(-time.Hour), To: now.Add(time.Hour)})
		return err
	})
	if err := a.AnswerHandles(ctx, HandlePost{PostID: "p3", ChannelID: "c", UserID: "u", Uses: alias.Find("@release-manager")}); err != nil {
		t.Fatal(err)
	}
	got := od.answers[len(od.answers)-1][0].People[0]
	if got.UserID != "bob" || got.For != "alice" || got.Reason != rota.ReasonAway {
		t.Fatalf("cover answer: %+v", got)
	}
	// The whole rota cannot be paged; a role handle goes to PageOnDuty.
	if err := a.AnswerHandles(ctx, HandlePost{PostID: "p4", ChannelID: "c", UserID: "u", Uses: alias.Find("@delivery-rota !page all")}); err != nil {
		t.Fatal(err)
	}
	if len(od.pages) != 1 || od.pages[0].Err == nil || od.pages[0].Target.Kind != alias.KindRota {
		t.Fatalf("pages: %+v", od.pages)
	}
	// The tick shows the board only when it may have changed.
	n := len(od.boards)
	if err := a.refreshBoard(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := a.refreshBoard(ctx, false); err != nil {
		t.Fatal(err)
	}
	if len(od.boards) != n {
		t.Fatalf("unchanged board shown again: %d -> %d", n, len(od.boards))
	}
	clk.set(now.Add(2 * time.Hour)) // Alice is back
	if err := a.refreshBoard(ctx, false); err != nil {
		t.Fatal(err)
	}
	if len(od.boards) != n+1 || od.boards[n].Holders[incident.RoleRM] != "alice" {
		t.Fatalf("board after the away period: %+v", od.boards[n:])
	}
}

// TestHandlesOfOtherRotas: "@<rota>-<role handle>" reaches that rota's
// holder and "@<rota>-oncall" everyone on duty in it; the first rota's
// handles stay as they were; an unknown rota's look-alike is no handle.
func TestHandlesOfOtherRotas(t *testing.T) {
	ctx := context.Background()
	a, od, _ := newHandleApp(t)
	if err := a.CreateRota(ctx, "root", "payments", nil); err != nil {
		t.Fatal(err)
	}
	for _, rotaName := range []string{"", "payments"} {
		holder := map[string]string{"": "alice", "payments": "pat"}[rotaName]
		if _, _, _, err := a.EditRotaOf(ctx, "root", rotaName, func(v *RotaView, now time.Time) ([]string, error) {
			_, err := v.Rota.SetMembers(incident.RoleRM, []string{holder}, v.Schedule, now)
			return nil, err
		}); err != nil {
			t.Fatal(err)
		}
	}
	post := HandlePost{PostID: "p1", ChannelID: "c", UserID: "u", Uses: alias.Find("@release-manager @payments-release-manager @payments-oncall @cards-oncall")}
	if err := a.AnswerHandles(ctx, post); err != nil {
		t.Fatal(err)
	}
	if len(od.answers) != 1 || len(od.answers[0]) != 3 {
		t.Fatalf("answers: %+v", od.answers)
	}
	got := od.answers[0]
	if got[0].People[0].UserID != "alice" || got[1].People[0].UserID != "pat" || got[1].Target.Rota != "payments" ||
		got[2].Target.Kind != alias.KindRota || got[2].People[0].UserID != "pat" {
		t.Errorf("answers: %+v", got)
	}
	// Paging through a rota's handle asks for that rota's holder (this
	// app has no pager: PageOnDuty says so).
	page := HandlePost{PostID: "p2", ChannelID: "c", UserID: "u", Uses: alias.Find("@payments-release-manager !page the deploy is stuck")}
	if err := a.AnswerHandles(ctx, page); err != nil {
		t.Fatal(err)
	}
	if len(od.pages) != 1 || od.pages[0].Target.Rota != "payments" || od.pages[0].Target.Role != incident.RoleRM {
		t.Errorf("page through @payments-release-manager: %+v", od.pages)
	}
}

// TestEachRotaHasItsBoard: an edit of a second rota shows its board in its
// channel, with its own handles; the first rota's board keeps its own.
func TestEachRotaHasItsBoard(t *testing.T) {
	ctx := context.Background()
	a, od, _ := newHandleApp(t)
	if err := a.CreateRota(ctx, "root", "payments", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := a.EditRotaOf(ctx, "root", "payments", func(v *RotaView, now time.Time) ([]string, error) {
		v.Rota.ChannelID = "paychan"
		_, err := v.Rota.SetMembers(incident.RoleRM, []string{"pat"}, v.Schedule, now)
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}
	var pay, first *Board
	for _, b := range od.boards {
		switch b.ChannelID {
		case "paychan":
			pay = b
		case "":
			first = b
		}
	}
	if pay == nil || pay.Holders[incident.RoleRM] != "pat" || pay.Handles.Roles[incident.RoleRM] != "payments-release-manager" || pay.Handles.Rota != "payments-oncall" {
		t.Fatalf("the payments board: %+v", pay)
	}
	if first == nil || first.Handles.Roles[incident.RoleRM] != "release-manager" {
		t.Errorf("the first rota's board: %+v", first)
	}
}
