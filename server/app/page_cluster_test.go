package app

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// tickAll ticks every instance from goroutines goroutines each, at once.
func (e *pageEnv) tickAll(goroutines int) {
	var wg sync.WaitGroup
	for _, n := range e.nodes {
		for range goroutines {
			wg.Go(func() { n.Tick(ctx) })
		}
	}
	wg.Wait()
}

// checkExactlyOnce checks that every page's notices were sent once each,
// numbered 1..Notices without gaps, and returns the sends by page.
func (e *pageEnv) checkExactlyOnce(t *testing.T, ids []string) map[string][]sent {
	t.Helper()
	byPage := map[string][]sent{}
	seen := map[string]bool{}
	for _, s := range e.allSends() {
		key := fmt.Sprintf("%s#%d", s.page, s.notice.Number)
		if seen[key] {
			t.Errorf("notice %s sent twice", key)
		}
		seen[key] = true
		byPage[s.page] = append(byPage[s.page], s)
	}
	for _, ss := range byPage {
		slices.SortFunc(ss, func(a, b sent) int { return a.notice.Number - b.notice.Number })
	}
	for _, id := range ids {
		p := e.record(t, id)
		if len(byPage[id]) != p.Notices {
			t.Errorf("page %s: %d sends, record claims %d", id, len(byPage[id]), p.Notices)
		}
		for n := 1; n <= p.Notices; n++ {
			if !seen[fmt.Sprintf("%s#%d", id, n)] {
				t.Errorf("page %s: notice %d never sent", id, n)
			}
		}
	}
	return byPage
}

// Cluster safety: two plugin instances sharing one store and one clock,
// each ticking from two goroutines at once, over 340 pages that escalate
// three times each (1,020 escalations, plus the pages and their
// re-notifications): every notification is sent exactly once, and on
// time (within one tick of its due time).
func TestPagesExactlyOnceAcrossInstances(t *testing.T) {
	forEachStore(t, testPagesExactlyOnceAcrossInstances)
}

func testPagesExactlyOnceAcrossInstances(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 2)
	const pages = 340
	var ids []string
	// 35 minutes in 5-second ticks. Pages open over the first ten minutes,
	// each at its own instant between ticks; the last reaches the IM at
	// 25 minutes.
	for now := t0; !now.After(t0.Add(35 * time.Minute)); now = now.Add(5 * time.Second) {
		for i := len(ids); i < pages; i++ {
			at := t0.Add(time.Duration(i) * 10 * time.Minute / pages)
			if at.After(now) {
				break
			}
			e.clk.set(at)
			inc := e.incident(t, incident.S1, chain())
			p, err := e.nodes[i%2].Page(ctx, inc, PageRequest{Actor: "zed", Role: incident.RoleL1})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
		}
		e.clk.set(now)
		e.tickAll(2)
	}
	byPage := e.checkExactlyOnce(t, ids)
	escalations, total := 0, 0
	for _, id := range ids {
		p := e.record(t, id)
		var levels []string
		for _, s := range byPage[id] {
			total++
			if s.notice.Kind == NoticeEscalate {
				escalations++
				levels = append(levels, fmt.Sprint(s.notice.Level, s.target))
				// On time: a tick comes every 5 seconds.
				if late := s.at.Sub(p.Targets[s.notice.Level-2].At.Add(5 * time.Minute)); late < 0 || late >= 5*time.Second {
					t.Errorf("page %s escalation to level %d %s late", id, s.notice.Level, late)
				}
			}
		}
		if fmt.Sprint(levels) != "[2bob 3cat 4dan]" {
			t.Errorf("page %s escalated %v", id, levels)
		}
	}
	if escalations != 3*pages {
		t.Errorf("%d escalations, want %d", escalations, 3*pages)
	}
	t.Logf("%d notifications (%d escalations) over %d pages: node0 sent %d, node1 %d",
		total, escalations, pages, len(e.pagers[0].sends()), len(e.pagers[1].sends()))
}

// An acknowledgement racing a due escalation: whichever wins, no
// notification is sent once an acknowledgement is recorded. The pagers
// check the store at every send, and sends take up to a millisecond.
func TestAcknowledgementRacesEscalation(t *testing.T) {
	forEachStore(t, testAcknowledgementRacesEscalation)
}

func testAcknowledgementRacesEscalation(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 2)
	for _, p := range e.pagers {
		p.store, p.jitter = e.store, time.Millisecond
	}
	e.setSettings(func(s *Settings) { s.Renotify = 5 * time.Minute }) // re-notification and escalation due together
	const pages = 200
	var ids []string
	for range pages {
		inc := e.incident(t, incident.S1, chain())
		p, err := e.nodes[0].Page(ctx, inc, PageRequest{Actor: "zed", Role: incident.RoleL1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	due := t0.Add(5 * time.Minute)
	e.clk.set(due) // every page's escalation is due in this instant

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, n := range e.nodes {
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						n.Tick(ctx)
					}
				}
			})
		}
	}
	var acks sync.WaitGroup
	for _, i := range rand.Perm(pages) {
		acks.Go(func() {
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			// Whoever the page reached by now: ann, or bob after the
			// escalation. Both may acknowledge.
			if _, err := e.nodes[i%2].AcknowledgePage(ctx, "ann", ids[i]); err != nil {
				t.Errorf("acknowledge %s: %v", ids[i], err)
			}
		})
	}
	acks.Wait()
	close(stop)
	wg.Wait()

	// Later ticks send nothing more.
	before := len(e.allSends())
	for _, d := range []time.Duration{time.Minute, 10 * time.Minute, time.Hour} {
		e.clk.set(due.Add(d))
		e.tickAll(2)
	}
	if after := len(e.allSends()); after != before {
		t.Errorf("%d notifications after every page was acknowledged", after-before)
	}
	for _, p := range e.pagers {
		for _, v := range p.violations {
			t.Error("sent after the acknowledgement: " + v)
		}
	}
	e.checkExactlyOnce(t, ids)
	escalated := 0
	for _, id := range ids {
		p := e.record(t, id)
		if p.AckedAt.IsZero() || p.Sending != nil {
			t.Errorf("page %s not cleanly acknowledged: %+v", id, p)
		}
		if p.Level() > 1 {
			escalated++
		}
		// Every post, including an escalation's that raced the
		// acknowledgement, ends up showing it.
		for _, pp := range p.Posts {
			var r *Page
			for _, pg := range e.pagers {
				pg.mu.Lock()
				if x := pg.renders[pp.ID]; x != nil && (r == nil || x.Revision > r.Revision) {
					r = x
				}
				pg.mu.Unlock()
			}
			if r == nil || r.AckedAt.IsZero() {
				t.Errorf("page %s post %s (level %d) does not show the acknowledgement: %+v", id, pp.ID, pp.Level, r)
			}
		}
		if n := len(e.events(t, p.IncidentID, incident.EventPageAcknowledged)); n != 1 {
			t.Errorf("page %s: %d acknowledgement events", id, n)
		}
	}
	t.Logf("%d of %d pages escalated before their acknowledgement landed", escalated, pages)
}

// Timers live in the store: a new instance (a restart) fires what the old
// one scheduled, once; and a notification whose claimant died before
// sending is sent by a later tick once the claim is stale.
func TestPageTimersSurviveRestartAndCrash(t *testing.T) {
	forEachStore(t, testPageTimersSurviveRestartAndCrash)
}

func testPageTimersSurviveRestartAndCrash(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	inc := e.incident(t, incident.S1, chain())
	p, err := e.nodes[0].Page(ctx, inc, PageRequest{Actor: "zed", Role: incident.RoleL1})
	if err != nil {
		t.Fatal(err)
	}
	restarted := e.addNode(t, "restarted")
	e.clk.set(t0.Add(2*time.Minute + 3*time.Second))
	restarted.Tick(ctx)
	if ss := e.pagers[1].sends(); len(ss) != 1 || ss[0].notice.Kind != NoticeRenotify {
		t.Fatalf("the restarted instance sent %+v, want the re-notification", ss)
	}

	// A claim whose instance died before sending.
	claimAt := t0.Add(4*time.Minute + 4*time.Second)
	e.clk.set(claimAt)
	claimed, owner, err := restarted.claimPage(ctx, p.ID, inc, e.clk.now(), "dead-sender")
	if err != nil || owner == "" || claimed.Sending.Notice.Number != 3 {
		t.Fatalf("claim: %+v %q %v", claimed, owner, err)
	}
	// Ticks every 5 seconds watch its lease stand still: no takeover
	// before the watch has seen it so for work.LeaseTTL, one soon after.
	var takenAt time.Time
	for d := 5 * time.Second; d <= work.LeaseTTL+15*time.Second; d += 5 * time.Second {
		e.clk.set(claimAt.Add(d))
		restarted.Tick(ctx)
		if takenAt.IsZero() && len(e.pagers[1].sends()) > 1 {
			takenAt = e.clk.now()
		}
	}
	if takenAt.IsZero() || takenAt.Sub(claimAt) <= work.LeaseTTL {
		t.Fatalf("taken over at %v after the claim (never: zero), want after %s", takenAt.Sub(claimAt), work.LeaseTTL)
	}
	ss := e.pagers[1].sends()
	if len(ss) != 2 || ss[1].notice.Number != 3 || ss[1].notice.Kind != NoticeRenotify {
		t.Fatalf("after the claim went stale: %+v", ss)
	}
	// The escalation at 5 minutes follows as usual, once.
	e.clk.set(t0.Add(5*time.Minute + 20*time.Second))
	restarted.Tick(ctx)
	restarted.Tick(ctx)
	ss = e.pagers[1].sends()
	if len(ss) != 3 || ss[2].notice.Kind != NoticeEscalate || ss[2].target != "bob" {
		t.Errorf("after the takeover: %+v", ss)
	}
}

// A due-index entry without a page record (its creator died before
// storing it) is dropped once it is old enough, and never sends.
func TestOrphanTimerIsDropped(t *testing.T) { forEachStore(t, testOrphanTimerIsDropped) }

func testOrphanTimerIsDropped(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	if err := e.nodes[0].work.Schedule(ctx, kindPage, "i9999-ghost", t0); err != nil {
		t.Fatal(err)
	}
	e.tickAt(t0.Add(30 * time.Second))
	if _, ok := e.entry(t, "i9999-ghost"); !ok {
		t.Fatal("a young orphan entry was dropped: its page may be being created")
	}
	e.tickAt(t0.Add(orphanGrace + time.Second))
	if _, ok := e.entry(t, "i9999-ghost"); ok {
		t.Error("an old orphan entry was kept")
	}
	if n := len(e.pagers[0].sends()); n != 0 {
		t.Errorf("%d sends", n)
	}
}

// An acknowledgement clicked while a notification is being sent lands at
// once, without waiting for the send; the send makes no post after it, and
// every post that was made ends up showing the acknowledgement.
func TestAcknowledgementLandsAtOnceDuringASend(t *testing.T) {
	forEachStore(t, testAcknowledgementLandsAtOnceDuringASend)
}

func testAcknowledgementLandsAtOnceDuringASend(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	e.pagers[0].store = e.store
	inc := e.incident(t, incident.S1, chain())
	p, err := e.nodes[0].Page(ctx, inc, PageRequest{Actor: "zed", Role: incident.RoleL1})
	if err != nil {
		t.Fatal(err)
	}
	acked := make(chan *Page, 1)
	var landedDuringSend bool
	e.pagers[0].onSend = func(*Page, Notice) {
		e.pagers[0].onSend = nil
		go func() {
			got, err := e.nodes[0].AcknowledgePage(ctx, "ann", p.ID)
			if err != nil {
				t.Error(err)
			}
			acked <- got
		}()
		// The acknowledgement is in the store while the send is still
		// running (its follow-up, the rendering, waits for the fake).
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && !landedDuringSend {
			rec, _, err := loadDoc[Page](ctx, e.store, pageDoc(p.ID))
			landedDuringSend = err == nil && rec.AckedBy == "ann"
			time.Sleep(time.Millisecond)
		}
	}
	e.tickAt(t0.Add(5 * time.Minute)) // the escalation to bob
	<-acked
	if !landedDuringSend {
		t.Fatal("the acknowledgement waited for the send in flight")
	}
	rec := e.record(t, p.ID)
	if rec.Sending != nil || !rec.Due.IsZero() && !rec.AckPending {
		t.Errorf("record after the send: %+v", rec)
	}
	if len(rec.Posts) != 2 {
		t.Errorf("posts %+v: want only the first notice's two, none made after the acknowledgement", rec.Posts)
	}
	for _, pp := range rec.Posts {
		if r := e.pagers[0].renders[pp.ID]; r == nil || r.AckedAt.IsZero() {
			t.Errorf("post %s shows %+v", pp.ID, r)
		}
	}
	if len(e.pagers[0].violations) != 0 {
		t.Error(e.pagers[0].violations)
	}
}

// A claimant that stalls past work.LeaseTTL, and comes back after an
// acknowledgement, posts nothing more: its fence finds the page answered.
// The posts there are show the acknowledgement, and no timer is left.
func TestStalledClaimantRepairsItsPosts(t *testing.T) {
	forEachStore(t, testStalledClaimantRepairsItsPosts)
}

func testStalledClaimantRepairsItsPosts(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	inc := e.incident(t, incident.S1, chain())
	p, err := e.nodes[0].Page(ctx, inc, PageRequest{Actor: "zed", Role: incident.RoleL1})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.set(t0.Add(5 * time.Minute))
	claimed, owner, err := e.nodes[0].claimPage(ctx, p.ID, inc, e.clk.now(), "stalled")
	if err != nil || owner == "" {
		t.Fatal(owner, err)
	}
	e.clk.set(t0.Add(5*time.Minute + work.LeaseTTL))
	if _, err := e.nodes[0].AcknowledgePage(ctx, "ann", p.ID); err != nil {
		t.Fatal(err)
	}
	done, err := e.nodes[0].deliver(ctx, claimed, inc, owner)
	if err != nil {
		t.Fatal(err)
	}
	if done.AckedBy != "ann" || len(done.Posts) != 2 || !done.Due.IsZero() || done.Sending != nil {
		t.Errorf("after the late send: %+v", done)
	}
	if n := len(e.pagers[0].sends()); n != 2 {
		t.Errorf("%d notices begun, want the page and the stalled escalation", n)
	}
	for _, pp := range done.Posts {
		if r := e.pagers[0].renders[pp.ID]; r == nil || r.AckedAt.IsZero() {
			t.Errorf("post %s (level %d) shows %+v", pp.ID, pp.Level, r)
		}
	}
}

// A sender that died after posting an escalation, before recording its
// posts, leaves posts the record does not know. The acknowledgement lands
// at once; once the dead sender's lease has been seen standing still, the
// tick reaps its claim, finds its posts, records them and renders them
// acknowledged, so no post keeps a dead button.
func TestAcknowledgementAdoptsPostsOfADeadSender(t *testing.T) {
	forEachStore(t, testAcknowledgementAdoptsPostsOfADeadSender)
}

func testAcknowledgementAdoptsPostsOfADeadSender(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	inc := e.incident(t, incident.S1, chain())
	p, err := e.nodes[0].Page(ctx, inc, PageRequest{Actor: "zed", Role: incident.RoleL1})
	if err != nil {
		t.Fatal(err)
	}
	// The escalation to bob is claimed and posted, and its sender dies.
	at := e.clk.now().Add(5 * time.Minute)
	e.clk.set(at)
	n := Notice{Number: 2, Kind: NoticeEscalate, Level: 2}
	claimed, _, err := updateDoc(ctx, e.store, pageDoc(p.ID), func(q *Page, _ bool) error {
		q.Targets = append(q.Targets, PageTarget{UserID: "bob", Role: incident.RoleL2, Pos: 1, At: at})
		q.Notices, q.Sending, q.Due = 2, &Sending{Lease: cas.Lease{Owner: "dead", Fence: 9, At: at}, Notice: n, Since: at}, at.Add(work.LeaseTTL)
		q.Revision++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.pagers[0].NotifyPage(ctx, claimed, inc, n)
	if err != nil || len(d.Posts) != 2 {
		t.Fatalf("the dead sender's posts: %+v, %v", d, err)
	}
	e.clk.set(at.Add(work.LeaseTTL + time.Second))
	if _, err := e.nodes[0].AcknowledgePage(ctx, "bob", p.ID); err != nil {
		t.Fatal(err)
	}
	if rec := e.record(t, p.ID); rec.Sending == nil || rec.AckPending {
		t.Fatalf("after the acknowledgement: %+v; want it noted, the dead claim still there", rec)
	}
	e.tickAt(at.Add(work.LeaseTTL + 2*time.Second)) // the first look at the dead lease
	if rec := e.record(t, p.ID); rec.Sending == nil {
		t.Fatal("a claim was reaped at the first look at its lease")
	}
	e.tickEvery(at.Add(work.LeaseTTL+7*time.Second), at.Add(2*work.LeaseTTL+12*time.Second))
	rec := e.record(t, p.ID)
	if rec.Orphans || len(rec.Posts) != 4 {
		t.Fatalf("record after the acknowledgement: orphans %v, posts %+v; want the dead sender's two posts adopted", rec.Orphans, rec.Posts)
	}
	for _, pp := range d.Posts {
		if r := e.pagers[0].renders[pp.ID]; r == nil || r.AckedBy != "bob" {
			t.Errorf("the dead sender's post %s shows %+v", pp.ID, r)
		}
	}
}
