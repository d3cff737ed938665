package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// sent is one notification a fakePager delivered.
type sent struct {
	page   string
	notice Notice
	target string
	at     time.Time // the claim time (the app's clock)
	node   string
}

// fakePager records notifications and post renderings. Like the bot, it
// checks the send's fence (see Fence) before each post. With store set, it
// checks at every send that the store holds the sender's claim, and at
// every post that the fence stops it if the store held an acknowledgement
// before the fence was checked: a post after a recorded acknowledgement is
// a violation.
type fakePager struct {
	mu         sync.Mutex
	node       string
	store      incident.Store
	sent       []sent
	renders    map[string]*Page // post id -> last rendering
	violations []string
	failNext   int           // fail this many notifications entirely
	jitter     time.Duration // each send takes up to this long, to widen races
	onSend     func(*Page, Notice)
	n          int
	once       onceLog
	delivered  map[string]Delivery   // once key -> what it delivered
	made       map[string][]PagePost // page id -> every post made for it
}

func newFakePager(node string) *fakePager { return &fakePager{node: node, renders: map[string]*Page{}} }

func (f *fakePager) NotifyPage(ctx context.Context, p *Page, _ *incident.Incident, n Notice) (Delivery, error) {
	if f.store != nil {
		rec, ok, err := loadDoc[Page](ctx, f.store, pageDoc(p.ID))
		f.mu.Lock()
		if err != nil || !ok || rec.Sending == nil || rec.Sending.Notice != n {
			f.violations = append(f.violations, fmt.Sprintf("page %s notice %d begun on record %+v (found %v, %v)", p.ID, n.Number, rec, ok, err))
		}
		f.mu.Unlock()
	}
	if f.jitter > 0 {
		time.Sleep(time.Duration(time.Now().UnixNano() % int64(f.jitter)))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key, _, dup := f.once.check(ctx, p.ChannelID)
	if dup {
		return f.delivered[key], nil
	}
	if f.onSend != nil {
		f.onSend(p, n)
	}
	if f.failNext > 0 {
		f.failNext--
		return Delivery{}, errors.New("channel not found")
	}
	f.sent = append(f.sent, sent{page: p.ID, notice: n, target: p.Targets[n.Level-1].UserID, at: p.Sending.Lease.At, node: f.node})
	var d Delivery
	has := false
	for _, pp := range p.Posts {
		has = has || pp.Level == n.Level
	}
	if n.Kind == NoticeRenotify && has {
		for range 2 { // a reply to each earlier post
			if err := f.fence(ctx, p, n); err != nil {
				return d, err
			}
			d.Sent++
		}
		return d, nil
	}
	for _, dm := range []bool{false, true} {
		if err := f.fence(ctx, p, n); err != nil {
			return d, err
		}
		f.n++
		d.Posts = append(d.Posts, PagePost{ID: fmt.Sprintf("%s-post%d", f.node, f.n), ChannelID: p.ChannelID, Level: n.Level, DM: dm})
		d.Sent++
	}
	if f.made == nil {
		f.made = map[string][]PagePost{}
	}
	f.made[p.ID] = append(f.made[p.ID], d.Posts...)
	if key != "" {
		f.once.made(key, "page")
		if f.delivered == nil {
			f.delivered = map[string]Delivery{}
		}
		f.delivered[key] = d
	}
	return d, nil
}

// fence checks the send's fence before a post, as the bot does; f.mu is
// held. With store set, an acknowledgement the store held before the fence
// was checked must stop the post: a post it lets through is a violation.
// (One that lands after the check is the inherent window of any send.)
func (f *fakePager) fence(ctx context.Context, p *Page, n Notice) error {
	var (
		before *Page
		err    error
	)
	if f.store != nil {
		if before, _, err = loadDoc[Page](ctx, f.store, pageDoc(p.ID)); err != nil {
			f.violations = append(f.violations, fmt.Sprintf("page %s notice %d: read before a post: %v", p.ID, n.Number, err))
		}
	}
	if err := work.Fence(ctx); err != nil {
		return err
	}
	if before != nil && !before.AckedAt.IsZero() {
		f.violations = append(f.violations, fmt.Sprintf("page %s notice %d posted on record %+v", p.ID, n.Number, before))
	}
	return nil
}

func (f *fakePager) PagePosts(_ context.Context, p *Page, _ time.Time) ([]PagePost, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]PagePost(nil), f.made[p.ID]...), nil
}

func (f *fakePager) UpdatePage(_ context.Context, p *Page, _ *incident.Incident) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, pp := range p.Posts {
		f.renders[pp.ID] = jsonCopy(p)
	}
	return nil
}

// sends returns a copy of what was sent so far.
func (f *fakePager) sends() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.sent...)
}

// pageSettings are the paging settings of the tests: S1 waits 5 minutes
// per level, S2 10, S3 30, S4 never escalates; re-notify every 2 minutes.
func pageSettings() Settings {
	return Settings{
		AckTimeout: map[incident.Severity]time.Duration{incident.S1: 5 * time.Minute, incident.S2: 10 * time.Minute, incident.S3: 30 * time.Minute, incident.S4: 0},
		Renotify:   2 * time.Minute,
	}
}

// pageEnv is one or more plugin instances over one real store and
// one settable clock, each with its own recording pager.
type pageEnv struct {
	store    incident.Store
	clk      *clock
	chat     *fakeChat
	settings Settings
	mu       sync.Mutex // guards settings
	nodes    []*App
	pagers   []*fakePager
	incs     int
}

// t0 is when the paging tests begin: a Monday 10:00 UTC.
var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func newPageEnv(t testing.TB, nodes int) *pageEnv {
	t.Helper()
	return newPageEnvOn(t, defaultStore, nodes)
}

// newPageEnvOn is newPageEnv over a new store of kind s.
func newPageEnvOn(t testing.TB, s storeKind, nodes int) *pageEnv {
	t.Helper()
	e := &pageEnv{store: s.open(t), clk: &clock{t: t0}, chat: newFakeChat(), settings: pageSettings()}
	for i := range nodes {
		e.addNode(t, fmt.Sprintf("node%d", i))
	}
	return e
}

// addNode adds a plugin instance, as a restart or another cluster node.
func (e *pageEnv) addNode(t testing.TB, name string) *App {
	t.Helper()
	pager := newFakePager(name)
	var mu sync.Mutex
	ids := 0
	a, err := New(Deps{
		Inline: true,
		Store:  e.store, Chat: e.chat, Notifier: e.chat, Access: access{}, Directory: admins{"root": true},
		Schedules: func(spec string) (rota.Schedule, *time.Location, error) {
			s, err := schedule.Parse(spec)
			if err != nil {
				return nil, nil, err
			}
			return s, s.Location, nil
		},
		Settings: func() Settings {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.settings
		},
		Clock: e.clk.now,
		IDs: func() string {
			mu.Lock()
			defer mu.Unlock()
			ids++
			return fmt.Sprintf("%s%d", name, ids)
		},
		Pager: pager,
		Log:   zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.nodes = append(e.nodes, a)
	e.pagers = append(e.pagers, pager)
	return a
}

func (e *pageEnv) setSettings(f func(*Settings)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&e.settings)
}

// incident stores an open incident of severity sev with roles as given.
func (e *pageEnv) incident(t testing.TB, sev incident.Severity, roles map[incident.Role]string) *incident.Incident {
	t.Helper()
	e.incs++
	inc := &incident.Incident{ID: fmt.Sprintf("i%04d", e.incs), Title: "Database down", Severity: sev, TeamID: "team",
		ChannelID: fmt.Sprintf("incch%d", e.incs), Roles: roles}
	inc.Start(e.clk.now(), "starter")
	if err := e.store.CreateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	return inc
}

// chain is the usual staffing: a first line, second line, third line and
// incident manager.
func chain() map[incident.Role]string {
	return map[incident.Role]string{incident.RoleL1: "ann", incident.RoleL2: "bob", incident.RoleL3: "cat", incident.RoleIM: "dan", incident.RoleRM: "rex"}
}

// tickAt sets the clock and ticks the first instance.
func (e *pageEnv) tickAt(t time.Time) {
	e.clk.set(t)
	e.nodes[0].Tick(ctx)
}

// tickEvery ticks every 5 seconds from from to to, as the cluster job
// does: what watching a lease stand still needs.
func (e *pageEnv) tickEvery(from, to time.Time) {
	for at := from; !at.After(to); at = at.Add(5 * time.Second) {
		e.tickAt(at)
	}
}

// record reads page id from the store.
func (e *pageEnv) record(t testing.TB, id string) *Page {
	t.Helper()
	p, ok, err := loadDoc[Page](ctx, e.store, pageDoc(id))
	if err != nil || !ok {
		t.Fatalf("page %s: found %v, %v", id, ok, err)
	}
	return p
}

// entry returns page id's entry in the due index: the latest, should
// stale ones be there too.
func (e *pageEnv) entry(t testing.TB, id string) (time.Time, bool) {
	t.Helper()
	at, ok := timerOf(t, e.store, id, e.clk.now())
	return time.UnixMilli(at).UTC(), ok
}

// events returns the incident's events of the given types.
func (e *pageEnv) events(t testing.TB, incID string, types ...incident.EventType) []incident.Event {
	t.Helper()
	tl, err := e.store.Timeline(ctx, incID)
	if err != nil {
		t.Fatal(err)
	}
	var out []incident.Event
	for _, ev := range tl {
		for _, typ := range types {
			if ev.Type == typ {
				out = append(out, ev)
			}
		}
	}
	return out
}

// allSends returns every pager's sends.
func (e *pageEnv) allSends() []sent {
	var out []sent
	for _, p := range e.pagers {
		out = append(out, p.sends()...)
	}
	return out
}

// timerOf returns the latest entry of page id in the work index, looking
// at the buckets from an hour before t0 to a day after now.
func timerOf(t testing.TB, store incident.Docs, id string, now time.Time) (int64, bool) {
	t.Helper()
	entries, err := work.EntriesOf(ctx, store, kindPage, id, t0.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		return 0, false
	}
	return entries[len(entries)-1].At, true
}
