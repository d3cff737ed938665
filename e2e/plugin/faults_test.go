package plugin_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// The fault tests page through escalations on two nodes sharing one
// PostgreSQL while a fault hits, then check that paging stayed exactly
// once. Each test starts faultIncidents incidents (S2, so each pages its
// first line at once) on fresh rota users, alternating between the
// nodes; each page escalates to the second line after a few seconds. The
// fault is injected as those escalations fall due:
//
//   - TestFaultDBLatencyDuringEscalations: 2 s added to every query
//     Mattermost makes (both nodes) for 20 s, from the moment the first
//     escalation is being sent;
//   - TestFaultPostgresPausedDuringEscalations: PostgreSQL stopped
//     (SIGSTOP) for 16 s, from the moment the first escalation is being
//     sent;
//   - TestFaultPluginKilledWhileSending: a node's plugin process SIGKILLed
//     whenever a page notification has just been claimed (up to 4 times
//     in 30 s, alternating nodes, each on a claim made after the previous
//     restart), and restarted at once. A kill of the process holding the
//     tick stalls the tick of both nodes for about 15 s (its cluster
//     mutex's lease), so 2 or 3 kills is usual.
//
// Meanwhile the second line acknowledges half of the pages from its
// direct message (by the Acknowledge button, through either node) as soon
// as the escalation reaches it; the other pages escalate to the end of the
// chain (L3, then the IM). Once every page is acknowledged or at the end
// of the chain with nothing in flight, every incident is resolved. When
// all has settled the test checks, from the posts (the API) and the
// plugin's KV rows (SQL):
//
//   - every page reached level 2;
//   - exactly one notice post per level per page in the rota channel and
//     in that level's target's direct messages, and none for a level the
//     page never claimed (a last level whose send an acknowledgement or
//     the close voided may lack its posts);
//   - no notice post created after the page's acknowledgement or after
//     its incident's resolution, and no reminder (re-notification is off);
//   - every page post shows the page's final state, without a button;
//   - every timeline event exactly once: one 'paged', one 'page_escalated'
//     per level claimed, one 'page_acknowledged' if acknowledged, one
//     'page_closed' if closed, one 'started' and one 'resolved'.
//
// Each logs a line with the figures (escalations, notices, duplicates,
// notices after acknowledgement or resolution) and fails with the page,
// level, post ids and times of each violation.

const (
	faultIncidents = 20
	// faultTimeouts: 4 s per level, so that the escalations fall due
	// just after the incidents have started.
	faultTimeouts = "S1=4s, S2=4s, S3=4s, S4=off"
	// faultSettle bounds each wait for the plugin to finish after a fault:
	// a claim left by a dead or stalled sender is taken over after 15 s,
	// by the next tick (every 5 s).
	faultSettle = 60 * time.Second
)

// TestFaultDBLatencyDuringEscalations adds 2 s to every query of both
// nodes for 20 s (more than a claim's 15 s to go stale) as soon as an
// escalation is being sent.
func TestFaultDBLatencyDuringEscalations(t *testing.T) {
	f := setupFault(t, "lat", false)
	t.Cleanup(func() { srv.DB.SetLatency(0) })
	f.run(func(ctx context.Context) string {
		const latency, window = 2 * time.Second, 20 * time.Second
		trigger := "no escalation claim seen within 15 s"
		if claim := f.waitClaim(ctx, 15*time.Second, 2); claim != "" {
			trigger = "escalation " + claim + " in flight"
		}
		srv.DB.SetLatency(latency)
		slow := time.Now()
		holdFault(ctx, window)
		srv.DB.SetLatency(0)
		return fmt.Sprintf("%s added to every query from %s for %s (%s)", latency, clock(slow), window, trigger)
	})
}

// TestFaultPostgresPausedDuringEscalations stops PostgreSQL for 16 s (more
// than a claim's 15 s to go stale) as soon as an escalation is being sent.
func TestFaultPostgresPausedDuringEscalations(t *testing.T) {
	f := setupFault(t, "pau", false)
	f.run(func(ctx context.Context) string {
		const pause = 16 * time.Second
		trigger := "no escalation claim seen within 15 s"
		if claim := f.waitClaim(ctx, 15*time.Second, 2); claim != "" {
			trigger = "escalation " + claim + " in flight"
		}
		resume, err := srv.PausePostgres()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := resume(); err != nil {
				t.Error(err)
			}
		})
		paused := time.Now()
		holdFault(ctx, pause)
		if err := resume(); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("PostgreSQL paused at %s for %s (%s)", clock(paused), pause, trigger)
	})
}

// TestFaultNodeClockAhead and TestFaultNodeClockBehind run the second
// node's plugin with its clock 20 s ahead of the first's, or 20 s behind
// (INCIDENT_BOT_CLOCK_OFFSET), while the escalations fall due and the
// second line acknowledges: leases are judged by time each node watched
// pass, never by comparing one node's clock with another's, so nothing is
// sent twice or lost. The clocks differ for the whole run, so the fault is
// the run itself.
func TestFaultNodeClockAhead(t *testing.T)  { testNodeClockOffset(t, "cka", 20*time.Second) }
func TestFaultNodeClockBehind(t *testing.T) { testNodeClockOffset(t, "ckb", -20*time.Second) }

func testNodeClockOffset(t *testing.T, name string, offset time.Duration) {
	f := setupFault(t, name, false, "INCIDENT_BOT_CLOCK_OFFSET="+offset.String())
	f.skew = offset.Abs()
	f.run(func(context.Context) string {
		return fmt.Sprintf("the second node's clock %s off the first's throughout", offset)
	})
}

// TestFaultPluginKilledWhileSending SIGKILLs a node's plugin whenever a
// page notification was claimed a moment ago, alternating between the
// nodes, and restarts it at once.
func TestFaultPluginKilledWhileSending(t *testing.T) {
	f := setupFault(t, "kil", true)
	f.run(func(ctx context.Context) string {
		const kills, window = 4, 30 * time.Second
		deadline := time.Now().Add(window)
		var since time.Time // each kill waits for a claim made after the last restart
		var log []string
		for k := 0; k < kills && time.Now().Before(deadline); {
			claimed, done := f.freshClaim(ctx, since)
			if done {
				break // nothing left to send
			}
			if claimed == nil {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			i := (k + 1) % len(f.nodes) // the second node first
			node := f.nodes[i]
			killedAt := time.Now()
			pids, err := node.KillPlugin(pluginID)
			if err != nil {
				t.Fatalf("kill %d: %v", k+1, err)
			}
			rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			err = node.RestartPlugin(rctx, pluginID)
			if err == nil {
				err = waitAnswering(rctx, node)
			}
			cancel()
			if err != nil {
				t.Fatalf("kill %d: node %d's plugin did not come back: %v\n%s", k+1, i+1, err, node.PluginLogTail(pluginID, 30))
			}
			// A claim still held by the same token once the plugin is
			// back: the killed process was its sender.
			outcome := "its send completed (another process sent it)"
			if pages, err := f.readPageKeys(ctx); err == nil {
				for _, p := range pages {
					if p.ID == claimed.ID && p.Sending != nil && p.Sending.Token == claimed.Sending.Token {
						outcome = "its claim was left to go stale (the killed process was sending it)"
					}
				}
			}
			log = append(log, fmt.Sprintf("kill %d at %s: node %d pid %v with %s just claimed; answering again %s later; %s",
				k+1, clock(killedAt), i+1, pids, claimed.claim(), time.Since(killedAt).Round(time.Millisecond), outcome))
			since = time.Now()
			k++
		}
		if len(log) < kills {
			log = append(log, fmt.Sprintf("only %d of %d kills: no further claim", len(log), kills))
		}
		return strings.Join(log, "; ")
	})
}

// holdFault keeps a fault on for d (or until ctx ends).
func holdFault(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// --- setup --------------------------------------------------------------------

type faultEnv struct {
	t     *testing.T
	ctx   context.Context
	name  string
	runID string
	nodes []*harness.Server
	rota  *pagingRota
	db    *sql.DB
	dms   map[string]string // user id -> direct channel with the bot
	names map[string]string // user id -> username
	incs  []*faultInc

	mu       sync.Mutex
	sessions map[string]*harness.User
	pageKeys []string // the KV keys of the incidents' pages, once known
	// skew is how far a node's clock is off: the times a node records
	// (an acknowledgement's, a resolution's) are its own, so a post up to
	// skew after them may still have come before them.
	skew time.Duration
}

// faultInc is one incident of a fault run.
type faultInc struct {
	n     int
	title string
	id    string
	ack   bool // the second line acknowledges its page

	// the acknowledgement clicks, guarded by faultEnv.mu
	clicking  bool
	lastClick time.Time
	clicks    []string
}

func (in *faultInc) ref() string { return fmt.Sprintf("incident #%s (n%02d)", in.id, in.n) }

// setupFault makes the run's rota (fresh users), sets short escalation
// timeouts without re-notification, and starts a second node sharing the
// database. killing: the test kills plugins, so the first server's plugin
// health check is off during it (it would race the test's restarts).
func setupFault(t *testing.T, name string, killing bool, nodeEnv ...string) *faultEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	t.Cleanup(cancel)
	f := &faultEnv{t: t, ctx: ctx, name: name, runID: uniq(), dms: map[string]string{}, names: map[string]string{},
		sessions: map[string]*harness.User{}}
	t.Logf("fault run %s-%s", name, f.runID)

	settings := map[string]any{
		"BroadcastChannelID": broadcast.Id,
		"EscalationTimeouts": faultTimeouts,
		"RenotifyInterval":   "off",
		"UpdateCadence":      "S1=off, S2=off, S3=off, S4=off",
	}
	before := pluginSettings(t, ctx)
	t.Cleanup(func() {
		restore := map[string]any{}
		for k := range settings {
			v, ok := before[strings.ToLower(k)]
			if !ok {
				v = ""
			}
			restore[k] = v
		}
		if err := srv.PatchPluginConfig(context.Background(), pluginID, restore); err != nil {
			t.Errorf("restore plugin settings: %v", err)
		}
	})
	if err := srv.PatchPluginConfig(ctx, pluginID, settings); err != nil {
		t.Fatal(err)
	}

	f.rota = newPagingRota(t, ctx, "flt"+name+f.runID)
	for _, u := range f.rota.holder {
		f.dms[u.Id] = dm(t, ctx, u).Id
		f.names[u.Id] = u.Username
	}
	var err error
	if f.db, err = sql.Open("postgres", srv.DataSource); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })

	if killing {
		noHealthCheck(t, ctx)
	}

	// The node copies the first server's config as it is now, the paging
	// settings included; the direct channels exist before it starts
	// (nodes do not invalidate each other's caches).
	node := harness.MustStartNode(t, srv, harness.NodeOptions{
		ConfigPatch: map[string]map[string]any{"PluginSettings": {"EnableHealthCheck": false}},
		Env:         nodeEnv,
	})
	if err := node.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatalf("setup: plugin on the second node: %v", err)
	}
	f.nodes = []*harness.Server{srv, node}

	// Cleanups run last first: the fault is lifted (registered by the
	// test), the plugin brought back, then the incidents resolved.
	t.Cleanup(f.resolveLeftovers)
	t.Cleanup(f.ensureRunning)
	return f
}

func (f *faultEnv) session(node int, u *harness.User) *harness.User {
	key := fmt.Sprint(node, "/", u.Id)
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sessions[key]; s != nil {
		return s
	}
	s := f.nodes[node].Session(u)
	f.sessions[key] = s
	return s
}

// ensureRunning restarts the first server's plugin if it does not answer
// (a kill the test did not get to undo).
func (f *faultEnv) ensureRunning() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := waitAnswering(ctx, srv)
	cancel()
	if err == nil {
		return
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.RestartPlugin(ctx, pluginID); err != nil {
		f.t.Errorf("restart the plugin after the test: %v", err)
	}
}

// resolveLeftovers resolves the run's incidents a failure left open, so
// that they page nobody after the test.
func (f *faultEnv) resolveLeftovers() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, in := range f.incs {
		if in.id == "" {
			continue
		}
		rec, err := readIncident(ctx, f.db, in.id)
		if err != nil || rec == nil || rec.Status == "resolved" {
			continue
		}
		if _, err := srv.ExecuteCommand(ctx, srv.Admin, srv.TownSquare.Id, "/incident resolve #"+in.id+" fault test cleanup"); err != nil {
			f.t.Logf("resolve leftover #%s: %v", in.id, err)
		}
	}
}

// --- the run ----------------------------------------------------------------------

// run starts the incidents, injects the fault as their escalations fall
// due, acknowledges half the pages, resolves every incident once paging
// is quiet, and checks the outcome.
func (f *faultEnv) run(fault func(ctx context.Context) string) {
	t := f.t
	began := time.Now()
	f.startIncidents()
	started := time.Now()
	f.waitFirstPages()

	acks := f.startAcknowledging()
	faultAt := time.Now()
	what := fault(f.ctx)
	faultEnd := time.Now()
	t.Logf("fault from %s to %s (%s after the first start): %s", clock(faultAt), clock(faultEnd), faultAt.Sub(began).Round(time.Millisecond), what)

	quiet := f.waitPaging("every page acknowledged (if meant to be) or at the end of the chain, nothing in flight", func(in *faultInc, p *kvPage) bool {
		if p.Sending != nil || p.AckPending || p.AckClaim != nil || len(p.Targets) < 2 {
			return false
		}
		if in.ack {
			return !p.AckedAt.IsZero()
		}
		return len(p.Targets) == 4 || !p.Pending()
	})
	acks.stop()
	quietAt := time.Now()
	f.resolveAll()
	f.waitPaging("every page acknowledged or closed, nothing in flight", func(_ *faultInc, p *kvPage) bool {
		return !p.Pending() && p.Sending == nil && !p.AckPending && p.AckClaim == nil
	})
	waitTicks(t, f.ctx, 2)
	t.Logf("started %d incidents in %s; paging quiet %s after the fault (%t); settled and checked %s after the first start",
		len(f.incs), started.Sub(began).Round(time.Millisecond), quietAt.Sub(faultEnd).Round(time.Millisecond), quiet, time.Since(began).Round(time.Millisecond))

	snap, err := f.snapshot()
	if err != nil {
		t.Fatalf("read the outcome: %v", err)
	}
	vs, fig := f.check(snap)
	claimed, posted := snap.during(faultAt, faultEnd)
	t.Logf("%s: %d escalations run (%d incidents), %d notices sent (%d posts), %d duplicate posts, %d notice posts after the acknowledgement, %d after the resolution; %d of %d acknowledgements recorded; %d claimed notices left unsent by a void; during the fault %d escalations were claimed and %d notice posts made",
		f.name, fig.escalations, len(f.incs), fig.notices, fig.posts, fig.duplicates, fig.afterAck, fig.afterResolve, fig.acked, fig.ackWanted, fig.unsent, claimed, posted)
	f.report(vs)
}

// startIncidents starts the run's incidents, alternating nodes, four at a
// time.
func (f *faultEnv) startIncidents() {
	t := f.t
	for i := range faultIncidents {
		f.incs = append(f.incs, &faultInc{n: i + 1, title: fmt.Sprintf("Fault %s %s n%02d", f.name, f.runID, i+1), ack: i%2 == 0})
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(f.incs))
	sem := make(chan struct{}, 4)
	for i, in := range f.incs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			node := f.nodes[i%len(f.nodes)]
			resp, err := node.ExecuteCommand(f.ctx, f.session(i%len(f.nodes), f.rota.starter), node.TownSquare.Id, "/incident start "+in.title+" --severity S2")
			if err != nil {
				errs <- err
				return
			}
			m := startedRe.FindStringSubmatch(resp.Text)
			if m == nil {
				errs <- fmt.Errorf("start %q: reply %q", in.title, resp.Text)
				return
			}
			in.id = m[1]
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("setup: %v", err)
	}
}

// waitFirstPages waits until every incident's page has its first notice
// recorded, and notes the pages' KV keys.
func (f *faultEnv) waitFirstPages() {
	harness.Eventually(f.t, faultSettle, "every incident's first page recorded", func() (bool, error) {
		pages, err := f.readPages(f.ctx)
		if err != nil {
			return false, err
		}
		var keys []string
		for _, in := range f.incs {
			ps := pages[in.id]
			if len(ps) != 1 || len(ps[0].Posts) == 0 {
				return false, nil
			}
			keys = append(keys, pageKey(ps[0].ID))
		}
		f.mu.Lock()
		f.pageKeys = keys
		f.mu.Unlock()
		return true, nil
	})
}

// waitPaging polls the pages until ok holds for every incident's page, or
// faultSettle passes; then it reports (as an error) the pages that never
// got there, and returns false.
func (f *faultEnv) waitPaging(what string, ok func(*faultInc, *kvPage) bool) bool {
	deadline := time.Now().Add(faultSettle)
	var behind []string
	for {
		pages, err := f.readPages(f.ctx)
		if err == nil {
			behind = behind[:0]
			for _, in := range f.incs {
				ps := pages[in.id]
				if len(ps) != 1 {
					behind = append(behind, fmt.Sprintf("%s: %d pages", in.ref(), len(ps)))
					continue
				}
				if !ok(in, ps[0]) {
					behind = append(behind, in.ref()+": "+ps[0].state())
				}
			}
			if len(behind) == 0 {
				return true
			}
		}
		if time.Now().After(deadline) {
			f.t.Errorf("after %s, not yet %s:\n  %s (last read error: %v)", faultSettle, what, strings.Join(behind, "\n  "), err)
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// resolveAll resolves every incident as its starter.
func (f *faultEnv) resolveAll() {
	for _, in := range f.incs {
		var last string
		harness.Eventually(f.t, wait, "resolve "+in.ref(), func() (bool, error) {
			resp, err := srv.ExecuteCommand(f.ctx, f.rota.starter, srv.TownSquare.Id, "/incident resolve #"+in.id+" fault test over")
			if err != nil {
				return false, err
			}
			last = resp.Text
			return strings.Contains(last, "#"+in.id+" resolved.") || strings.Contains(last, "already resolved"), fmt.Errorf("reply %q", last)
		})
	}
}

// --- acknowledging ---------------------------------------------------------------

type ackRun struct {
	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
	clicks   sync.WaitGroup
}

func (a *ackRun) stop() {
	a.stopOnce.Do(func() { close(a.quit) })
	<-a.done
	a.clicks.Wait()
}

// startAcknowledging has the second line acknowledge the pages of the
// incidents meant to be (every other one) as soon as the escalation's
// direct message reaches them, clicking through alternate nodes, again
// after a failed click, until the page records the acknowledgement. The
// posts and pages are read straight from the database, so that a slow
// server does not delay the clicks.
func (f *faultEnv) startAcknowledging() *ackRun {
	a := &ackRun{quit: make(chan struct{}), done: make(chan struct{})}
	l2 := f.rota.holder["l2"]
	byID := map[string]*faultInc{}
	for _, in := range f.incs {
		if in.ack {
			byID[in.id] = in
		}
	}
	go func() {
		defer close(a.done)
		for {
			select {
			case <-a.quit:
				return
			case <-f.ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
			pages, err := f.readPages(ctx)
			var posts map[string]string
			if err == nil {
				posts, err = f.levelPosts(ctx, f.dms[l2.Id], 2)
			}
			cancel()
			if err != nil {
				continue
			}
			left := 0
			for id, in := range byID {
				ps := pages[id]
				if len(ps) != 1 || !ps[0].Pending() {
					continue // acknowledged (or closed): done
				}
				left++
				postID := posts[ps[0].ID]
				f.mu.Lock()
				due := postID != "" && !in.clicking && time.Since(in.lastClick) > 2*time.Second
				if due {
					in.clicking, in.lastClick = true, time.Now()
				}
				k := len(in.clicks)
				f.mu.Unlock()
				if !due {
					continue
				}
				a.clicks.Go(func() {
					i := (in.n/2 + k) % len(f.nodes) // spread over the nodes
					ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
					defer cancel()
					t0 := time.Now()
					_, err := f.nodes[i].ClickButton(ctx, f.session(i, l2), postID, "ackpage")
					outcome := "ok"
					if err != nil {
						outcome = truncate(err.Error(), 120)
					}
					f.mu.Lock()
					in.clicking = false
					in.clicks = append(in.clicks, fmt.Sprintf("click on %s via node %d at %s, answered after %s: %s", postID, i+1, clock(t0), time.Since(t0).Round(time.Millisecond), outcome))
					f.mu.Unlock()
				})
			}
			if left == 0 {
				return
			}
		}
	}()
	return a
}

// levelPosts returns the bot's root page posts of the given level in a
// channel, by page id (the first post of each page), straight from the
// database.
func (f *faultEnv) levelPosts(ctx context.Context, channelID string, level int) (map[string]string, error) {
	rows, err := f.db.QueryContext(ctx, `SELECT id, props::jsonb->>'page_id' FROM posts
		WHERE channelid = $1 AND userid = $2 AND rootid = '' AND deleteat = 0 AND props::jsonb->>'page_level' = $3
		ORDER BY createat`, channelID, botUser.Id, strconv.Itoa(level))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id string
		var page sql.NullString
		if err := rows.Scan(&id, &page); err != nil {
			return nil, err
		}
		if page.Valid && out[page.String] == "" {
			out[page.String] = id
		}
	}
	return out, rows.Err()
}

// --- claims ---------------------------------------------------------------------------

// waitClaim polls the pages until one has a notice of at least minLevel
// claimed and returns it ("" if none within d).
func (f *faultEnv) waitClaim(ctx context.Context, d time.Duration, minLevel int) string {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pages, err := f.readPageKeys(ctx)
		if err == nil {
			for _, p := range pages {
				if s := p.Sending; s != nil && s.Notice.Level >= minLevel {
					return p.claim()
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ""
}

// freshClaim returns a page with a notice claimed within the last second
// and after since, if any; done when no page has anything left to send
// (each acknowledged, closed or at the end of the chain, nothing in
// flight).
func (f *faultEnv) freshClaim(ctx context.Context, since time.Time) (claimed *kvPage, done bool) {
	pages, err := f.readPageKeys(ctx)
	if err != nil {
		return nil, false
	}
	done = len(pages) > 0
	for _, p := range pages {
		if s := p.Sending; s != nil && s.At.After(since) && time.Since(s.At) < time.Second {
			return p, false
		}
		if p.Sending != nil || p.Pending() && len(p.Targets) < 4 {
			done = false
		}
	}
	return nil, done
}

// --- what the plugin stored ---------------------------------------------------------

// kvPage is the page record (server/app/page.go), read only.
type kvPage struct {
	ID         string `json:"id"`
	IncidentID string `json:"incident_id"`
	Targets    []struct {
		UserID string    `json:"user_id"`
		Role   string    `json:"role"`
		At     time.Time `json:"at"`
	} `json:"targets"`
	Sending *kvClaim `json:"sending"`
	Posts   []struct {
		ID        string `json:"id"`
		ChannelID string `json:"channel_id"`
		Level     int    `json:"level"`
		DM        bool   `json:"dm"`
	} `json:"posts"`
	AckedAt    time.Time `json:"acked_at"`
	AckedBy    string    `json:"acked_by"`
	AckPending bool      `json:"ack_pending"`
	AckClaim   *kvClaim  `json:"ack_claim"`
	ClosedAt   time.Time `json:"closed_at"`
	ClosedWhy  string    `json:"closed_why"`
	Orphans    bool      `json:"orphans"`
}

type kvClaim struct {
	Token  string    `json:"token"`
	At     time.Time `json:"at"`
	Notice struct {
		Number int    `json:"number"`
		Kind   string `json:"kind"`
		Level  int    `json:"level"`
	} `json:"notice"`
	Takeover bool `json:"takeover"`
}

func (p *kvPage) Pending() bool { return p.AckedAt.IsZero() && p.ClosedAt.IsZero() }

func (p *kvPage) claim() string {
	s := p.Sending
	return fmt.Sprintf("page %s notice %d (%s, level %d, claimed %s, takeover %t)", p.ID, s.Notice.Number, s.Notice.Kind, s.Notice.Level, clock(s.At), s.Takeover)
}

// state describes the page for failure messages.
func (p *kvPage) state() string {
	var b strings.Builder
	fmt.Fprintf(&b, "page %s at level %d", p.ID, len(p.Targets))
	switch {
	case !p.AckedAt.IsZero():
		fmt.Fprintf(&b, ", acknowledged at %s", clock(p.AckedAt))
	case !p.ClosedAt.IsZero():
		fmt.Fprintf(&b, ", closed at %s (%s)", clock(p.ClosedAt), p.ClosedWhy)
	default:
		b.WriteString(", pending")
	}
	if p.Sending != nil {
		b.WriteString(", sending " + p.claim())
	}
	if p.AckPending {
		b.WriteString(", acknowledgement follow-up owed")
	}
	if p.AckClaim != nil {
		fmt.Fprintf(&b, ", acknowledgement follow-up claimed %s", clock(p.AckClaim.At))
	}
	fmt.Fprintf(&b, ", %d posts recorded", len(p.Posts))
	return b.String()
}

func pageKey(id string) string { return "doc/v1/page/v1/" + id }

// readPages returns the pages of the run's incidents, by incident id.
func (f *faultEnv) readPages(ctx context.Context) (map[string][]*kvPage, error) {
	rows, err := f.db.QueryContext(ctx, `SELECT pvalue FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey LIKE 'doc/v1/page/v1/%'`, pluginID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ours := map[string]bool{}
	for _, in := range f.incs {
		ours[in.id] = true
	}
	out := map[string][]*kvPage{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var p kvPage
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("decode a page: %w", err)
		}
		if ours[p.IncidentID] {
			out[p.IncidentID] = append(out[p.IncidentID], &p)
		}
	}
	return out, rows.Err()
}

// readPageKeys reads the run's pages by their keys: cheap enough to poll
// every few milliseconds.
func (f *faultEnv) readPageKeys(ctx context.Context) ([]*kvPage, error) {
	f.mu.Lock()
	keys := f.pageKeys
	f.mu.Unlock()
	rows, err := f.db.QueryContext(ctx, `SELECT pvalue FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey = ANY($2)`, pluginID, pq.Array(keys))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*kvPage
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var p kvPage
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("decode a page: %w", err)
		}
		out = append(out, &p)
	}
	return out, rows.Err()
}

// faultEvent is a timeline event, with its time.
type faultEvent struct {
	Seq   int               `json:"-"`
	At    time.Time         `json:"at"`
	Type  string            `json:"type"`
	Actor string            `json:"actor"`
	Text  string            `json:"text"`
	Data  map[string]string `json:"data"`
}

func (e faultEvent) sig() string {
	return kvEvent{Type: e.Type, Actor: e.Actor, Text: e.Text, Data: e.Data}.sig()
}

func (e faultEvent) String() string {
	return fmt.Sprintf("#%d %s at %s", e.Seq, e.Type, clock(e.At))
}

// readTimeline reads an incident's timeline chunks (see crash_test.go for
// the layout).
func (f *faultEnv) readTimeline(ctx context.Context, id string) ([]faultEvent, error) {
	rows, err := f.db.QueryContext(ctx, `SELECT pkey, pvalue FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey LIKE $2`, pluginID, "tl/v1/"+id+"/%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type chunk struct {
		k      int
		Base   int               `json:"b"`
		Events []json.RawMessage `json:"e"`
	}
	var chunks []chunk
	for rows.Next() {
		var key string
		var raw []byte
		if err := rows.Scan(&key, &raw); err != nil {
			return nil, err
		}
		k, err := strconv.Atoi(strings.TrimPrefix(key, "tl/v1/"+id+"/"))
		if err != nil {
			continue // the head hint
		}
		c := chunk{k: k}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("decode %s: %w", key, err)
		}
		chunks = append(chunks, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(chunks, func(i, j int) bool { return chunks[i].k < chunks[j].k })
	var out []faultEvent
	for _, c := range chunks {
		if c.Base != len(out) {
			return nil, fmt.Errorf("timeline of #%s: chunk %d starts at seq %d, want %d", id, c.k, c.Base, len(out))
		}
		for j, raw := range c.Events {
			var e faultEvent
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("decode event %d of #%s: %w", c.Base+j, id, err)
			}
			e.Seq = c.Base + j
			out = append(out, e)
		}
	}
	return out, nil
}

// --- the checks ------------------------------------------------------------------------

// faultPost is a page post of the bot and where it is.
type faultPost struct {
	*model.Post
	page  string
	level int
	place string // "rota" or "dm:@username"
}

func (p faultPost) String() string {
	return fmt.Sprintf("%s (%s, created %s)", p.Id, p.place, clock(time.UnixMilli(p.CreateAt)))
}

type faultSnapshot struct {
	pages     map[string][]*kvPage
	timelines map[string][]faultEvent
	posts     map[string][]faultPost // page id -> its root posts, oldest first
	replies   map[string][]faultPost // page id -> the bot's replies to its posts
}

// snapshot reads the outcome: pages and timelines from the KV rows, posts
// through the API (the first server; post lists are not cached, so they
// show what either node wrote).
func (f *faultEnv) snapshot() (*faultSnapshot, error) {
	ctx := f.ctx
	s := &faultSnapshot{timelines: map[string][]faultEvent{}, posts: map[string][]faultPost{}, replies: map[string][]faultPost{}}
	var err error
	if s.pages, err = f.readPages(ctx); err != nil {
		return nil, err
	}
	for _, in := range f.incs {
		if s.timelines[in.id], err = f.readTimeline(ctx, in.id); err != nil {
			return nil, err
		}
	}
	collect := func(place string, posts []*model.Post) {
		roots := map[string]string{}
		for _, p := range posts {
			page, _ := p.GetProp("page_id").(string)
			if p.UserId != botUser.Id || page == "" || p.RootId != "" {
				continue
			}
			level := 1
			if l, ok := p.GetProp("page_level").(string); ok {
				if n, err := strconv.Atoi(l); err == nil {
					level = n
				}
			}
			s.posts[page] = append(s.posts[page], faultPost{Post: p, page: page, level: level, place: place})
			roots[p.Id] = page
		}
		for _, p := range posts {
			if page := roots[p.RootId]; page != "" && p.UserId == botUser.Id {
				s.replies[page] = append(s.replies[page], faultPost{Post: p, page: page, place: place})
			}
		}
	}
	rota, err := allPosts(ctx, srv.Admin, f.rota.channel.Id)
	if err != nil {
		return nil, err
	}
	collect("rota", rota)
	for _, u := range f.rota.holder {
		posts, err := allPosts(ctx, u, f.dms[u.Id])
		if err != nil {
			return nil, err
		}
		collect("dm:@"+u.Username, posts)
	}
	return s, nil
}

// during counts the escalations claimed and the notice posts made between
// from and to.
func (s *faultSnapshot) during(from, to time.Time) (claimed, posted int) {
	for _, ps := range s.pages {
		for _, p := range ps {
			for _, t := range p.Targets[min(1, len(p.Targets)):] {
				if !t.At.Before(from) && !t.At.After(to) {
					claimed++
				}
			}
		}
	}
	for _, ps := range s.posts {
		for _, p := range ps {
			if at := time.UnixMilli(p.CreateAt); !at.Before(from) && !at.After(to) {
				posted++
			}
		}
	}
	return claimed, posted
}

type faultFigures struct {
	escalations, notices, posts, duplicates, afterAck, afterResolve, acked, ackWanted, unsent int
}

type faultViolation struct {
	inc  *faultInc
	what string
}

func (f *faultEnv) check(s *faultSnapshot) ([]faultViolation, faultFigures) {
	var vs []faultViolation
	var fig faultFigures
	l2 := f.rota.holder["l2"]
	for _, in := range f.incs {
		bad := func(format string, args ...any) {
			vs = append(vs, faultViolation{in, fmt.Sprintf(format, args...)})
		}
		evs := s.timelines[in.id]
		count := func(typ string, match func(faultEvent) bool) []faultEvent {
			var out []faultEvent
			for _, e := range evs {
				if e.Type == typ && (match == nil || match(e)) {
					out = append(out, e)
				}
			}
			return out
		}

		// Every event once.
		bySig := map[string][]faultEvent{}
		for _, e := range evs {
			bySig[e.sig()] = append(bySig[e.sig()], e)
		}
		for sig, es := range bySig {
			if len(es) > 1 {
				bad("timeline: event recorded %d times: %s: %v", len(es), truncate(sig, 160), es)
			}
		}
		if es := count("started", nil); len(es) != 1 {
			bad("timeline: %d 'started' events, want 1: %v", len(es), es)
		}
		resolved := count("resolved", nil)
		if len(resolved) != 1 {
			bad("timeline: %d 'resolved' events, want 1: %v", len(resolved), resolved)
		}
		var resolvedAt time.Time
		if len(resolved) > 0 {
			resolvedAt = resolved[0].At
		}

		pages := s.pages[in.id]
		if len(pages) != 1 {
			var ids []string
			for _, p := range pages {
				ids = append(ids, p.ID)
			}
			bad("store: %d pages %v, want 1 (the page at the start)", len(pages), ids)
			if len(pages) == 0 {
				continue
			}
		}
		p := pages[0]
		pref := "page " + p.ID
		levels := len(p.Targets)
		fig.escalations += max(levels-1, 0)
		if levels < 2 {
			bad("%s: never escalated: %s", pref, p.state())
		}
		if in.ack {
			fig.ackWanted++
		}
		switch {
		case in.ack && p.AckedAt.IsZero():
			f.mu.Lock()
			clicks := strings.Join(in.clicks, "; ")
			f.mu.Unlock()
			bad("%s: the second line's acknowledgement was never recorded (%s); clicks: %s", pref, p.state(), clicks)
		case in.ack && p.AckedBy != l2.Id:
			bad("%s: acknowledged by %s, not the second line %s", pref, p.AckedBy, l2.Id)
		case !in.ack && !p.AckedAt.IsZero():
			bad("%s: acknowledged at %s by %s though nobody clicked", pref, clock(p.AckedAt), p.AckedBy)
		}
		if !p.AckedAt.IsZero() {
			fig.acked++
		}
		settled := !p.Pending() && p.Sending == nil && !p.AckPending
		if !settled {
			bad("%s: not settled (its posts' rendering is not checked): %s", pref, p.state())
		}

		// The timeline's page events.
		ofPage := func(e faultEvent) bool { return e.Data["page"] == p.ID }
		if es := count("paged", ofPage); len(es) != 1 {
			bad("timeline: %d 'paged' events for %s, want 1: %v", len(es), pref, es)
		}
		for n := 2; n <= levels; n++ {
			if es := count("page_escalated", func(e faultEvent) bool { return ofPage(e) && e.Data["level"] == strconv.Itoa(n) }); len(es) != 1 {
				bad("timeline: %d 'page_escalated' events to level %d of %s (claimed %s), want 1: %v", len(es), n, pref, clock(p.Targets[n-1].At), es)
			}
		}
		for _, e := range count("page_escalated", ofPage) {
			if n, _ := strconv.Atoi(e.Data["level"]); n > levels || n < 2 {
				bad("timeline: 'page_escalated' to level %d of %s, which has %d levels: %v", n, pref, levels, e)
			}
		}
		if es := count("page_renotified", ofPage); len(es) != 0 {
			bad("timeline: %d 'page_renotified' events for %s; re-notification is off: %v", len(es), pref, es)
		}
		if want, es := boolInt(!p.AckedAt.IsZero()), count("page_acknowledged", ofPage); len(es) != want {
			bad("timeline: %d 'page_acknowledged' events for %s (acknowledged at %s), want %d: %v", len(es), pref, clockOrNever(p.AckedAt), want, es)
		}
		if want, es := boolInt(!p.ClosedAt.IsZero()), count("page_closed", ofPage); len(es) != want {
			bad("timeline: %d 'page_closed' events for %s (closed at %s), want %d: %v", len(es), pref, clockOrNever(p.ClosedAt), want, es)
		}

		// The posts: one per level and place, none after the
		// acknowledgement or the resolution, each showing the final state.
		posts := s.posts[p.ID]
		fig.posts += len(posts)
		at := map[int]map[string][]faultPost{}
		for _, post := range posts {
			if at[post.level] == nil {
				at[post.level] = map[string][]faultPost{}
			}
			at[post.level][post.place] = append(at[post.level][post.place], post)
		}
		for n := 1; n <= levels; n++ {
			target := p.Targets[n-1]
			places := []string{"rota", "dm:@" + f.names[target.UserID]}
			sent := false
			for _, place := range places {
				ps := at[n][place]
				switch {
				case len(ps) > 1:
					fig.duplicates += len(ps) - 1
					bad("posts: %s level %d (claimed %s): %d notice posts in %s, want 1: %v", pref, n, clock(target.At), len(ps), place, ps)
				case len(ps) == 0 && n == levels && !p.Pending():
					// The last level's send was voided by the
					// acknowledgement or the close before it posted.
				case len(ps) == 0:
					bad("posts: %s level %d (claimed %s): no notice post in %s", pref, n, clock(target.At), place)
				}
				sent = sent || len(ps) > 0
			}
			if sent {
				fig.notices++
			} else if n == levels && !p.Pending() {
				fig.unsent++
			}
			for place, ps := range at[n] {
				if !slices.Contains(places, place) {
					bad("posts: %s level %d: notice posts in %s, which is not where that level goes: %v", pref, n, place, ps)
				}
			}
		}
		for n, byPlace := range at {
			if n < 1 || n > levels {
				for _, ps := range byPlace {
					bad("posts: %s: notice posts for level %d, which the page never claimed (%d levels): %v", pref, n, levels, ps)
				}
			}
		}
		for _, post := range posts {
			created := time.UnixMilli(post.CreateAt)
			if !p.AckedAt.IsZero() && post.CreateAt > p.AckedAt.Add(f.skew).UnixMilli() {
				fig.afterAck++
				bad("posts: %s level %d: notice post %v created %s after the acknowledgement at %s", pref, post.level, post, created.Sub(p.AckedAt).Round(time.Millisecond), clock(p.AckedAt))
			}
			if !resolvedAt.IsZero() && post.CreateAt > resolvedAt.Add(f.skew).UnixMilli() {
				fig.afterResolve++
				bad("posts: %s level %d: notice post %v created %s after the resolution at %s", pref, post.level, post, created.Sub(resolvedAt).Round(time.Millisecond), clock(resolvedAt))
			}
			text := harness.PostText(post.Post)
			switch {
			case !settled:
			case hasButton(post.Post, "ackpage"):
				bad("posts: %s level %d: post %v still has the Acknowledge button (%s)", pref, post.level, post, p.state())
			case !p.AckedAt.IsZero() && !strings.Contains(text, "✅ Acknowledged by"):
				bad("posts: %s level %d: post %v does not show the acknowledgement: %q", pref, post.level, post, truncate(lineWith(text, "cknowledge"), 100))
			case !p.ClosedAt.IsZero() && !strings.Contains(text, "Closed unacknowledged"):
				bad("posts: %s level %d: post %v does not show the close: %q", pref, post.level, post, truncate(lineWith(text, "cknowledge"), 100))
			}
		}
		if rs := s.replies[p.ID]; len(rs) != 0 {
			bad("posts: %s: %d reminders posted; re-notification is off: %v", pref, len(rs), rs)
		}
	}
	return vs, fig
}

func (f *faultEnv) report(vs []faultViolation) {
	if len(vs) == 0 {
		return
	}
	byInc := map[*faultInc][]string{}
	kinds := map[string]int{}
	for _, v := range vs {
		byInc[v.inc] = append(byInc[v.inc], v.what)
		kinds[strings.SplitN(v.what, ":", 2)[0]]++
	}
	for _, in := range f.incs {
		whats := byInc[in]
		if len(whats) == 0 {
			continue
		}
		sort.Strings(whats)
		f.t.Errorf("%s %q (acknowledged by the test: %t) broke exactly-once paging:\n    - %s", in.ref(), in.title, in.ack, strings.Join(whats, "\n    - "))
	}
	var summary []string
	for k, c := range kinds {
		summary = append(summary, fmt.Sprintf("%s ×%d", k, c))
	}
	sort.Strings(summary)
	f.t.Errorf("%s: %d of %d incidents broke exactly-once paging: %s", f.name, len(byInc), len(f.incs), strings.Join(summary, ", "))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// clock formats a time for failure messages: UTC, to the millisecond.
func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }

func clockOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return clock(t)
}
