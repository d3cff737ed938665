package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// berlinHandoff hands over on Mondays at 09:00 Berlin time, 08:00 UTC in
// November.
const berlinHandoff = "CRON_TZ=Europe/Berlin 0 9 * * MON"

var berlin, _ = time.LoadLocation("Europe/Berlin")

// Handoff instants of berlinHandoff: week0 is the week in progress when the
// tests begin (on the Wednesday after it).
var (
	week0 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	week1 = week0.AddDate(0, 0, 7)
	week2 = week0.AddDate(0, 0, 14)
)

// handoffEnv is one plugin instance over a real store, with a
// settable clock and a recording handoff poster.
type handoffEnv struct {
	store incident.Store
	clk   *clock
	chat  *fakeChat
	posts *fakeHandoffs
	app   *App
}

func newHandoffEnv(t *testing.T) *handoffEnv {
	t.Helper()
	return newHandoffEnvOn(t, defaultStore)
}

// newHandoffEnvOn is newHandoffEnv over a new store of kind s.
func newHandoffEnvOn(t *testing.T, s storeKind) *handoffEnv {
	t.Helper()
	h := &handoffEnv{store: s.open(t), clk: &clock{t: week0.AddDate(0, 0, 2)}, chat: newFakeChat(), posts: newFakeHandoffs()}
	h.app = newNode(t, h.store, h.clk, h.chat, h.posts)
	return h
}

// setRota sets the Berlin handoff, the rota channel and the rotas
// im: alice, bob; l1: carol; l2: alice. So week 1 is bob, carol and alice;
// in week 2 alice is on duty for im and l2, keeps im, and l2 stays open.
func (h *handoffEnv) setRota(t *testing.T, channel string) {
	t.Helper()
	_, _, _, err := h.app.EditRota(ctx, "root", func(v *RotaView, now time.Time) ([]string, error) {
		s, _, err := h.app.parse(berlinHandoff)
		if err != nil {
			return nil, err
		}
		if _, err := v.Rota.SetHandoff(berlinHandoff, v.Schedule, s, now); err != nil {
			return nil, err
		}
		for role, ids := range map[incident.Role][]string{incident.RoleIM: {"alice", "bob"}, incident.RoleL1: {"carol"}, incident.RoleL2: {"alice"}} {
			if _, err := v.Rota.SetMembers(role, ids, s, now); err != nil {
				return nil, err
			}
		}
		v.Rota.ChannelID = channel
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tickAt sets the clock to t and ticks.
func (h *handoffEnv) tickAt(t time.Time) {
	h.clk.set(t)
	h.app.Tick(ctx)
}

func (h *handoffEnv) record(t *testing.T, week time.Time) *Handoff {
	t.Helper()
	rec, ok, err := loadDoc[Handoff](ctx, h.store, handoffDoc(HandoffKey(week)))
	if err != nil || !ok {
		t.Fatalf("handoff record of %s: found %v, %v", week, ok, err)
	}
	return rec
}

func (h *handoffEnv) wantPosts(t *testing.T, what string, weeks ...time.Time) {
	t.Helper()
	h.posts.mu.Lock()
	defer h.posts.mu.Unlock()
	var got, want []string
	for _, p := range h.posts.posts {
		got = append(got, p.Week.UTC().Format(time.RFC3339))
	}
	for _, w := range weeks {
		want = append(want, w.UTC().Format(time.RFC3339))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: announcements %v, want %v", what, got, want)
	}
}

func TestHandoffFirstTickOnlyRemembersTheWeek(t *testing.T) {
	forEachStore(t, testHandoffFirstTickOnlyRemembersTheWeek)
}

func testHandoffFirstTickOnlyRemembersTheWeek(t *testing.T, s storeKind) {
	h := newHandoffEnvOn(t, s)
	h.setRota(t, "rota")
	// Even right after a handoff: installing the plugin (or its first tick
	// after an upgrade) must not announce the week in progress.
	h.tickAt(week1.Add(10 * time.Second))
	h.wantPosts(t, "first tick")
	st, ok, err := loadDoc[handoffState](ctx, h.store, handoffStateDoc)
	if err != nil || !ok || !st.Week.Equal(week1) || st.Announce {
		t.Fatalf("state after first tick = %+v, %v, %v", st, ok, err)
	}
	h.tickAt(week1.Add(20 * time.Second))
	h.wantPosts(t, "second tick, same week")
	h.tickAt(week2.Add(time.Second))
	h.wantPosts(t, "next handoff", week2)
}

func TestHandoffAnnouncedOncePerHandoff(t *testing.T) {
	forEachStore(t, testHandoffAnnouncedOncePerHandoff)
}

func testHandoffAnnouncedOncePerHandoff(t *testing.T, s storeKind) {
	h := newHandoffEnvOn(t, s)
	h.setRota(t, "rota")
	h.tickAt(week0.AddDate(0, 0, 2))
	h.tickAt(week1.Add(-time.Second))
	h.wantPosts(t, "before the handoff")

	h.tickAt(week1.Add(5 * time.Second))
	h.wantPosts(t, "after the handoff", week1)
	got := h.posts.posts[0]
	if got.Key != HandoffKey(week1) || got.ChannelID != "rota" || got.Zone != "Europe/Berlin" || !got.End.Equal(week2) {
		t.Errorf("handoff = %+v", got)
	}
	want := map[incident.Role]string{incident.RoleIM: "bob", incident.RoleL1: "carol", incident.RoleL2: "alice"}
	if fmt.Sprint(got.Holders) != fmt.Sprint(want) || len(got.Substitutions) != 0 {
		t.Errorf("week 1 staffing = %v, substitutions %v", got.Holders, got.Substitutions)
	}
	if rec := h.record(t, week1); rec.PostID != "handoffpost1" || rec.Attempts != 1 {
		t.Errorf("record = %+v", rec)
	}

	for _, d := range []time.Duration{10 * time.Second, 2 * time.Minute, 59 * time.Minute, 3 * 24 * time.Hour} {
		h.tickAt(week1.Add(d))
	}
	h.wantPosts(t, "later ticks in the same week", week1)

	h.tickAt(week2.Add(30 * time.Minute))
	h.wantPosts(t, "the week after", week1, week2)
	w2 := h.posts.posts[1]
	if w2.Holders[incident.RoleIM] != "alice" || !slices.Equal(w2.Open, []incident.Role{incident.RoleL2, incident.RoleL3, incident.RoleRM}) ||
		len(w2.Substitutions) != 1 || w2.Substitutions[0].Reason != rota.ReasonDoubleDuty {
		t.Errorf("week 2: holders %v, open %v, substitutions %+v", w2.Holders, w2.Open, w2.Substitutions)
	}
}

func TestHandoffTooLateIsSkipped(t *testing.T) { forEachStore(t, testHandoffTooLateIsSkipped) }

func testHandoffTooLateIsSkipped(t *testing.T, s storeKind) {
	h := newHandoffEnvOn(t, s)
	h.setRota(t, "rota")
	h.tickAt(week0.AddDate(0, 0, 2))
	// The plugin was down over the handoff: more than an hour late, the
	// announcement would be stale.
	h.tickAt(week1.Add(time.Hour + time.Second))
	h.tickAt(week1.Add(2 * time.Hour))
	h.wantPosts(t, "late ticks")
	if _, ok, _ := loadDoc[Handoff](ctx, h.store, handoffDoc(HandoffKey(week1))); ok {
		t.Error("a skipped handoff left a record")
	}
	// Exactly an hour late is still on time, and the state moved on.
	h.tickAt(week2.Add(time.Hour))
	h.wantPosts(t, "next handoff", week2)
}

func TestHandoffNeedsAChannelAndPeople(t *testing.T) {
	h := newHandoffEnv(t)
	h.tickAt(week0.AddDate(0, 0, 2)) // no rota at all
	h.setRota(t, "")
	h.tickAt(week1.Add(time.Second))
	h.wantPosts(t, "no rota channel")

	// Setting the channel mid-week does not announce the week that began
	// without one.
	if _, _, _, err := h.app.EditRota(ctx, "root", func(v *RotaView, _ time.Time) ([]string, error) {
		v.Rota.ChannelID = "rota"
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	h.tickAt(week1.Add(time.Minute))
	h.wantPosts(t, "channel set mid-week")

	// Nobody on duty: nothing to announce.
	if _, _, _, err := h.app.EditRota(ctx, "root", func(v *RotaView, now time.Time) ([]string, error) {
		for _, role := range incident.Roles {
			if _, err := v.Rota.SetMembers(role, nil, v.Schedule, now); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	h.tickAt(week2.Add(time.Second))
	h.wantPosts(t, "empty rota")
	st, _, _ := loadDoc[handoffState](ctx, h.store, handoffStateDoc)
	if !st.Week.Equal(week2) {
		t.Errorf("state did not move on: %+v", st)
	}
}

// A post that fails is tried again after a short backoff.
func TestHandoffFailedPostIsTakenOverLater(t *testing.T) {
	forEachStore(t, testHandoffFailedPostIsTakenOverLater)
}

func testHandoffFailedPostIsTakenOverLater(t *testing.T, s storeKind) {
	h := newHandoffEnvOn(t, s)
	h.setRota(t, "rota")
	h.tickAt(week0.AddDate(0, 0, 2))
	h.posts.failNext = 1
	h.tickAt(week1.Add(10 * time.Second))
	h.wantPosts(t, "failed post")
	if rec := h.record(t, week1); rec.PostID != "" || rec.Attempts != 1 || rec.Lease.Held() {
		t.Fatalf("record after a failed post = %+v", rec)
	}
	// The poster let it go: the next tick after the backoff tries again.
	h.tickAt(week1.Add(15 * time.Second))
	h.wantPosts(t, "tried again", week1)
	if rec := h.record(t, week1); rec.PostID != "handoffpost1" || rec.Attempts != 2 || rec.Lease.Held() {
		t.Errorf("record after the second attempt = %+v", rec)
	}
	h.tickAt(week1.Add(5 * time.Minute))
	h.wantPosts(t, "after the second attempt", week1)
}

func TestHandoffGivesUpAfterThreeAttempts(t *testing.T) {
	forEachStore(t, testHandoffGivesUpAfterThreeAttempts)
}

func testHandoffGivesUpAfterThreeAttempts(t *testing.T, s storeKind) {
	h := newHandoffEnvOn(t, s)
	h.setRota(t, "rota")
	h.tickAt(week0.AddDate(0, 0, 2))
	h.posts.failNext = 100
	for m := time.Duration(0); m <= 50*time.Minute; m += 61 * time.Second {
		h.tickAt(week1.Add(m))
	}
	if rec := h.record(t, week1); rec.Attempts != handoffAttempts || rec.PostID != "" {
		t.Errorf("record = %+v, want %d attempts", rec, handoffAttempts)
	}
	if left := h.posts.failNext; left != 100-handoffAttempts {
		t.Errorf("%d posts tried, want %d", 100-left, handoffAttempts)
	}
}

func TestHandoffTakeoverStopsWhenTheHandoffIsStale(t *testing.T) {
	forEachStore(t, testHandoffTakeoverStopsWhenTheHandoffIsStale)
}

func testHandoffTakeoverStopsWhenTheHandoffIsStale(t *testing.T, s storeKind) {
	h := newHandoffEnvOn(t, s)
	h.setRota(t, "rota")
	h.tickAt(week0.AddDate(0, 0, 2))
	h.posts.failNext = 1
	h.tickAt(week1.Add(50 * time.Minute))
	h.tickAt(week1.Add(61 * time.Minute))
	h.wantPosts(t, "takeover past the lateness limit")
}

// A claimant that died after moving the state but before creating the
// record: the next run creates it and posts.
func TestHandoffClaimWithoutRecordIsTakenOver(t *testing.T) {
	forEachStore(t, testHandoffClaimWithoutRecordIsTakenOver)
}

func testHandoffClaimWithoutRecordIsTakenOver(t *testing.T, s storeKind) {
	h := newHandoffEnvOn(t, s)
	h.setRota(t, "rota")
	h.tickAt(week0.AddDate(0, 0, 2))
	if _, _, err := updateDoc(ctx, h.store, handoffStateDoc, func(s *handoffState, _ bool) error {
		*s = handoffState{Week: week1, Announce: true}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.tickAt(week1.Add(30 * time.Second))
	h.wantPosts(t, "record created by a later run", week1)
	if rec := h.record(t, week1); rec.PostID == "" || rec.Holders[incident.RoleIM] != "bob" {
		t.Errorf("record = %+v", rec)
	}
}

// A poster whose renewals stop landing while it posts (a paused database):
// another node watches its lease stand still, takes over, posts and
// records first, and the stalled one deletes its late copy.
func TestHandoffStalledClaimantDeletesItsDuplicate(t *testing.T) {
	forEachStore(t, testHandoffStalledClaimantDeletesItsDuplicate)
}

func testHandoffStalledClaimantDeletesItsDuplicate(t *testing.T, s storeKind) {
	h := newHandoffEnvOn(t, s)
	h.setRota(t, "rota")
	h.tickAt(week0.AddDate(0, 0, 2))
	chatB, postsB := newFakeChat(), newFakeHandoffs()
	postsB.prefix = "nodeb"
	b := newNode(t, h.store, h.clk, chatB, postsB)

	hold, held := make(chan struct{}), make(chan struct{})
	h.posts.hold, h.posts.held = hold, held
	h.clk.set(week1.Add(time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.app.Tick(ctx)
	}()
	<-held
	// Node A's lease stands still from here (the clock jumps past its
	// renewals); node B looks every 5 seconds and takes over once it has
	// watched it for the lease's time.
	for d := 2 * time.Minute; d <= 2*time.Minute+work.LeaseTTL+5*time.Second && postsB.count() == 0; d += 5 * time.Second {
		h.clk.set(week1.Add(d))
		b.Tick(ctx)
	}
	if postsB.count() != 1 {
		t.Fatalf("node B did not take over: %d posts", postsB.count())
	}
	close(hold)
	<-done

	rec := h.record(t, week1)
	if rec.PostID != postsB.ids[0] {
		t.Errorf("recorded post %q, want B's %q", rec.PostID, postsB.ids[0])
	}
	if !slices.Equal(h.chat.deleted, []string{h.posts.ids[0]}) {
		t.Errorf("stalled node deleted %v, want its own %s", h.chat.deleted, h.posts.ids[0])
	}
}

func TestAcknowledgeHandoff(t *testing.T) { forEachStore(t, testAcknowledgeHandoff) }

func testAcknowledgeHandoff(t *testing.T, s storeKind) {
	h := newHandoffEnvOn(t, s)
	h.setRota(t, "rota")
	h.tickAt(week0.AddDate(0, 0, 2))
	h.tickAt(week1.Add(time.Second))
	key := HandoffKey(week1)
	postID := h.record(t, week1).PostID

	if _, err := h.app.AcknowledgeHandoff(ctx, "dave", key); incident.KindOf(err) != incident.KindForbidden {
		t.Fatalf("a stranger's acknowledgement: %v", err)
	}
	if rec := h.record(t, week1); len(rec.Acks) != 0 {
		t.Fatalf("a refused acknowledgement was stored: %v", rec.Acks)
	}

	h.clk.set(week1.Add(3 * time.Minute))
	got, err := h.app.AcknowledgeHandoff(ctx, "bob", key)
	if err != nil {
		t.Fatal(err)
	}
	at := week1.Add(3 * time.Minute)
	if !got.Acks["bob"].Equal(at) || !h.record(t, week1).Acks["bob"].Equal(at) {
		t.Errorf("acks = %v, stored %v", got.Acks, h.record(t, week1).Acks)
	}
	if u := h.posts.updates[postID]; u == nil || !u.Acks["bob"].Equal(at) || u.AllAcknowledged() {
		t.Errorf("post not re-rendered with the acknowledgement: %+v", u)
	}

	h.clk.set(week1.Add(time.Hour))
	again, err := h.app.AcknowledgeHandoff(ctx, "bob", key)
	if !errors.Is(err, ErrAlreadyAcknowledged) || again == nil || !again.Acks["bob"].Equal(at) {
		t.Errorf("second acknowledgement: %v, %+v", err, again)
	}
	if rec := h.record(t, week1); !rec.Acks["bob"].Equal(at) {
		t.Errorf("second acknowledgement changed the time: %v", rec.Acks)
	}

	if _, err := h.app.AcknowledgeHandoff(ctx, "bob", HandoffKey(week2)); incident.KindOf(err) != incident.KindNotFound {
		t.Errorf("unknown handoff: %v", err)
	}
	for _, bad := range []string{"state", "../state", "+1795305198", "-1", ""} {
		if _, err := h.app.AcknowledgeHandoff(ctx, "bob", bad); incident.KindOf(err) != incident.KindInvalid {
			t.Errorf("malformed key %q: %v", bad, err)
		}
	}
}

// Two holders acknowledging at once: whatever order the post updates land
// in, the post ends up showing both.
func TestConcurrentAcknowledgementsAllReachThePost(t *testing.T) {
	forEachStore(t, testConcurrentAcknowledgementsAllReachThePost)
}

func testConcurrentAcknowledgementsAllReachThePost(t *testing.T, s storeKind) {
	for i := 0; i < 20; i++ {
		h := newHandoffEnvOn(t, s)
		h.setRota(t, "rota")
		h.tickAt(week0.AddDate(0, 0, 2))
		h.tickAt(week1.Add(time.Second))
		var wg sync.WaitGroup
		for _, u := range []string{"alice", "bob", "carol"} {
			wg.Go(func() {
				if _, err := h.app.AcknowledgeHandoff(ctx, u, HandoffKey(week1)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if u := h.posts.updates[h.record(t, week1).PostID]; u == nil || !u.AllAcknowledged() {
			t.Fatalf("post shows %v after three acknowledgements", u)
		}
	}
}

// panicky is a poster that panics, as a bug in an adapter would.
type panicky struct{ *fakeHandoffs }

func (panicky) PostHandoff(context.Context, *Handoff) (string, error) { panic("adapter bug") }

func TestTickSurvivesAPanickingStep(t *testing.T) {
	h := newHandoffEnv(t)
	h.app.handoffs = panicky{newFakeHandoffs()}
	h.setRota(t, "rota")
	h.tickAt(week0.AddDate(0, 0, 2))
	h.tickAt(week1.Add(time.Second)) // must not panic
}

// Cluster safety: two plugin instances sharing one store and one clock,
// each ticking from several goroutines at once, announce each of 50
// consecutive handoffs exactly once.
func TestHandoffExactlyOnceAcrossInstances(t *testing.T) {
	forEachStore(t, testHandoffExactlyOnceAcrossInstances)
}

func testHandoffExactlyOnceAcrossInstances(t *testing.T, s storeKind) {
	h := newHandoffEnvOn(t, s)
	h.setRota(t, "rota")
	chatB, postsB := newFakeChat(), newFakeHandoffs()
	postsB.prefix = "nodeb"
	nodes := []*App{h.app, newNode(t, h.store, h.clk, chatB, postsB)}
	const handoffs, goroutines, ticks = 50, 4, 3

	tickAll := func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			for range goroutines {
				wg.Go(func() {
					for range ticks {
						n.Tick(ctx)
					}
				})
			}
		}
		wg.Wait()
	}
	h.clk.set(week0.AddDate(0, 0, 2))
	tickAll()
	for i := 1; i <= handoffs; i++ {
		week := time.Date(2026, 11, 2+7*i, 9, 0, 0, 0, berlin) // across a DST change
		// Spread the rounds over the lateness window.
		h.clk.set(week.Add(time.Duration(i) * time.Minute))
		tickAll()
		if n := h.posts.count() + postsB.count(); n != i {
			t.Fatalf("after handoff %d (%s): %d announcements", i, week, n)
		}
		if rec := h.record(t, week); rec.PostID == "" || rec.Attempts != 1 {
			t.Fatalf("handoff %d: record %+v", i, rec)
		}
	}
	seen := map[string]bool{}
	for _, p := range append(h.posts.posts, postsB.posts...) {
		if seen[p.Key] {
			t.Errorf("handoff %s announced twice", p.Key)
		}
		seen[p.Key] = true
	}
	t.Logf("node A announced %d, node B %d", h.posts.count(), postsB.count())
	if len(h.chat.deleted)+len(chatB.deleted) != 0 {
		t.Errorf("duplicates were posted and deleted: %v %v", h.chat.deleted, chatB.deleted)
	}
}

// TestEachRotaHandsOffInItsChannel: a second rota announces its own
// handoffs, in its own channel, under keys of its own, alongside the
// first's; its holders acknowledge theirs.
func TestEachRotaHandsOffInItsChannel(t *testing.T) {
	h := newHandoffEnv(t)
	h.setRota(t, "rota")
	if err := h.app.CreateRota(ctx, "root", "payments", nil); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := h.app.EditRotaOf(ctx, "root", "payments", func(v *RotaView, now time.Time) ([]string, error) {
		s, _, err := h.app.parse(berlinHandoff)
		if err != nil {
			return nil, err
		}
		if _, err := v.Rota.SetHandoff(berlinHandoff, v.Schedule, s, now); err != nil {
			return nil, err
		}
		if _, err := v.Rota.SetMembers(incident.RoleL1, []string{"pat"}, s, now); err != nil {
			return nil, err
		}
		v.Rota.ChannelID = "paychan"
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.tickAt(week0.AddDate(0, 0, 2))
	h.tickAt(week1.Add(5 * time.Second))
	h.wantPosts(t, "both rotas' handoffs", week1, week1)
	var pay *Handoff
	for _, p := range h.posts.posts {
		if p.Rota == "payments" {
			pay = p
		}
	}
	if pay == nil || pay.ChannelID != "paychan" || pay.Key != "payments-"+HandoffKey(week1) || pay.Holders[incident.RoleL1] != "pat" {
		t.Fatalf("the payments handoff: %+v", pay)
	}
	if _, err := h.app.AcknowledgeHandoff(ctx, "pat", pay.Key); err != nil {
		t.Errorf("pat acknowledges the payments handoff: %v", err)
	}
	if _, err := h.app.AcknowledgeHandoff(ctx, "carol", pay.Key); !errors.Is(err, incident.ErrForbidden) {
		t.Errorf("carol, on the other rota, acknowledges the payments handoff: %v", err)
	}
	h.tickAt(week1.Add(time.Hour))
	h.wantPosts(t, "no repeat", week1, week1)
}
