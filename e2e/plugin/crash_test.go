package plugin_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq" // the test server's database: the plugin KV rows
	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// The crash tests run a burst of incident starts, status updates, page
// acknowledgements, severity changes, mitigations and resolutions from a few
// concurrent users while the plugin's process is SIGKILLed at random
// moments (the test brings it back at once), then wait for the plugin to
// settle and check that every incident is whole:
//
//   - every operation the user was told succeeded took effect exactly once;
//     one whose outcome the user could not know (an error, a timeout, a
//     reply that is not the success reply) took effect at most once;
//   - every incident the store lists (whether its start was acknowledged or
//     not) has exactly one card showing its current status and severity,
//     exactly one start announcement, a timeline with each event once and
//     an event for every state change it went through, one post per event in
//     the incident and broadcast channels, exactly one page (one notice, in
//     the rota channel and by DM) showing whether it was acknowledged (or,
//     if a kill stopped its notice and the incident was resolved before the
//     retry, a page closed unsent), its role holders in its channel, and a
//     postmortem once it is resolved;
//   - no post of the bot is duplicated.
//
// Seeds: INCIDENT_BOT_E2E_CRASH_SEED=<n> replays a run's plans and kill
// schedule (the interleaving with the server is not replayable).
// INCIDENT_BOT_E2E_CRASH_KILLS=<n> sets the number of kills; 0 is a control
// run of the same burst and checks, which must pass on any plugin version.

// crashSettle bounds the wait for the plugin to finish what the kills
// interrupted; crashQuiet ends it early when the broken invariants stayed
// the same for that long. A killed worker's work is taken over once its
// lease lapses (30 s; stale page claims after 15 s) by the next tick (every
// 5 s), so 45 s without progress means none is coming.
const (
	crashSettle = 2 * time.Minute
	crashQuiet  = 45 * time.Second
)

// TestCrashBurstOneNode runs the crash burst against one server.
func TestCrashBurstOneNode(t *testing.T) {
	env := setupCrash(t)
	runCrashBurst(t, env, []*harness.Server{srv})
}

// TestCrashBurstTwoNodes runs the crash burst against two servers sharing
// one PostgreSQL database and file store, each with its own plugin process:
// requests are spread over both and plugin processes are killed on both.
func TestCrashBurstTwoNodes(t *testing.T) {
	env := setupCrash(t)
	// The node copies the first server's config as it is now: the crash
	// settings and the disabled health check included.
	node := harness.MustStartNode(t, srv, harness.NodeOptions{
		ConfigPatch: map[string]map[string]any{"PluginSettings": {"EnableHealthCheck": false}},
	})
	if err := node.EnablePlugin(ctxT(t), pluginID); err != nil {
		t.Fatalf("setup: plugin on the second node: %v", err)
	}
	runCrashBurst(t, env, []*harness.Server{srv, node})
}

// TestCrashServerRestartsKilledPlugin measures how long the server itself
// takes to bring a SIGKILLed plugin back (its health check runs every 30 s
// and gives a plugin up after its third failure within an hour, which is
// why the crash tests restart killed plugins themselves). Opt-in with
// INCIDENT_BOT_E2E_MEASURE_RESTART=1: it costs up to half a minute and one
// of those three failures.
func TestCrashServerRestartsKilledPlugin(t *testing.T) {
	if os.Getenv("INCIDENT_BOT_E2E_MEASURE_RESTART") != "1" {
		t.Skip("set INCIDENT_BOT_E2E_MEASURE_RESTART=1 to measure the server's own restart of a killed plugin")
	}
	ctx := ctxT(t)
	cfg, _, err := srv.Admin.Client.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PluginSettings.EnableHealthCheck != nil && !*cfg.PluginSettings.EnableHealthCheck {
		t.Fatal("the plugin health check is disabled on the test server")
	}
	killed, err := srv.KillPlugin(pluginID)
	if err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	var running time.Duration
	harness.Eventually(t, 90*time.Second, "the server to restart the killed plugin by itself", func() (bool, error) {
		pids := srv.PluginProcesses(pluginID)
		if len(pids) == 0 || slices.Equal(pids, killed) {
			return false, nil
		}
		if running == 0 {
			running = time.Since(killedAt)
		}
		resp, err := srv.ExecuteCommand(ctx, srv.Admin, srv.TownSquare.Id, "/incident list")
		return err == nil && strings.Contains(strings.ToLower(resp.Text), "incidents"), err
	})
	state, err := srv.PluginState(ctx, pluginID)
	t.Logf("killed pid %v; the server started a new plugin process %s after the SIGKILL, answering commands %s after it (state %d, %v)",
		killed, running.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond), state, err)
}

// crashEnv is what a crash test sets up on the first server: its own users,
// rota, broadcast and rota channels, and paging settings.
type crashEnv struct {
	run         string // unique per test run: names, titles
	seed        uint64
	prefix      string // title prefix of this run's incidents
	starters    []*harness.User
	holders     map[string]*harness.User // role code -> rota member
	broadcastCh *model.Channel
	rotaCh      *model.Channel
	db          *sql.DB

	mu    sync.Mutex
	users map[string]*harness.User // user id -> user with a session on srv
	dms   map[string]string        // user id -> direct channel with the bot
}

func setupCrash(t *testing.T) *crashEnv {
	t.Helper()
	ctx := ctxT(t)
	env := &crashEnv{
		run:     strings.ToLower(model.NewId()[:6]),
		holders: map[string]*harness.User{},
		users:   map[string]*harness.User{srv.Admin.Id: srv.Admin},
		dms:     map[string]string{},
	}
	env.prefix = "Crash " + env.run + " n"
	env.seed = uint64(time.Now().UnixNano())
	if s := os.Getenv("INCIDENT_BOT_E2E_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("INCIDENT_BOT_E2E_CRASH_SEED=%q: %v", s, err)
		}
		env.seed = v
	}
	t.Logf("crash run %s, seed %d (replay the plans and kill schedule with INCIDENT_BOT_E2E_CRASH_SEED=%d)", env.run, env.seed, env.seed)
	for _, u := range srv.Users {
		env.users[u.Id] = u
	}

	var err error
	if env.db, err = sql.Open("postgres", srv.DataSource); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.db.Close() })

	var members []*harness.User
	for _, role := range []string{"im", "l1", "l2", "l3", "rm"} {
		u := newUser(t, ctx, "crash"+env.run+"-"+role)
		env.holders[role] = u
		members = append(members, u)
	}
	for i := range 2 {
		u := newUser(t, ctx, fmt.Sprintf("crash%s-starter%d", env.run, i+1))
		env.starters = append(env.starters, u)
		members = append(members, u)
	}
	for _, u := range members {
		env.users[u.Id] = u
	}
	if env.broadcastCh, err = srv.NewChannel(ctx, "crash-"+env.run+"-broadcast", false, members...); err != nil {
		t.Fatal(err)
	}
	if env.rotaCh, err = srv.NewChannel(ctx, "crash-"+env.run+"-rota", false, members...); err != nil {
		t.Fatal(err)
	}

	// Long escalation timeouts and no re-notification or update reminders:
	// during the test each page is exactly one notice, so "one post per
	// notice" is exact.
	crashSettings := map[string]any{
		"BroadcastChannelID":  env.broadcastCh.Id,
		"EscalationTimeouts":  "S1=10m, S2=10m, S3=10m, S4=off",
		"RenotifyInterval":    "off",
		"UpdateCadence":       "S1=off, S2=off, S3=off, S4=off",
		"PostmortemChannelID": "",
		"PrivateChannels":     false,
	}
	before := pluginSettings(t, ctx)
	t.Cleanup(func() {
		restore := map[string]any{}
		for k := range crashSettings {
			v, ok := before[strings.ToLower(k)]
			if !ok {
				v = "" // unset: the plugin's default
				if k == "PrivateChannels" {
					v = false
				}
			}
			restore[k] = v
		}
		if err := srv.PatchPluginConfig(context.Background(), pluginID, restore); err != nil {
			t.Errorf("restore plugin settings: %v", err)
		}
	})
	if err := srv.PatchPluginConfig(ctx, pluginID, crashSettings); err != nil {
		t.Fatal(err)
	}

	noHealthCheck(t, ctx) // the test restarts killed plugins itself

	staffRota(t, env.rotaCh, env.holders)

	// A warm-up incident, before anything is killed, proves the settings
	// took: it is announced in this run's broadcast channel and pages in
	// this run's rota channel. Its direct message channel with the bot
	// exists from here on.
	warm := start(t, env.starters[0], "Crash "+env.run+" warm-up --severity S2")
	waitPost(t, srv.Admin, env.broadcastCh.Id, "Incident #"+warm.ID+" started")
	harness.Eventually(t, wait, "the warm-up incident's page in the crash rota channel", func() (bool, error) {
		posts, err := allPosts(ctx, srv.Admin, env.rotaCh.Id)
		for _, p := range posts {
			if id, _ := p.GetProp("page_id").(string); strings.HasPrefix(id, warm.ID+"-") {
				return true, nil
			}
		}
		return false, err
	})
	mustContain(t, "resolve warm-up", cmd(t, env.starters[0], srv.TownSquare.Id, "/incident resolve #"+warm.ID+" warm-up done").Text, "resolved")
	// Direct channels are created before a second node starts: nodes do not
	// invalidate each other's caches of who is in which channel.
	for _, u := range env.holders {
		if _, err := env.dm(ctx, u.Id); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// pluginSettings returns the plugin's settings as the server stores them
// (lower-cased keys).
func pluginSettings(t *testing.T, ctx context.Context) map[string]any {
	t.Helper()
	cfg, _, err := srv.Admin.Client.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for k, v := range cfg.PluginSettings.Plugins[pluginID] {
		out[k] = v
	}
	return out
}

// user returns a user with a session on the first server: one the tests
// created, or any other by logging in with the harness's password
// convention (username + "-Passw0rd!").
func (env *crashEnv) user(ctx context.Context, id string) (*harness.User, error) {
	env.mu.Lock()
	u := env.users[id]
	env.mu.Unlock()
	if u != nil {
		return u, nil
	}
	mu, _, err := srv.Admin.Client.GetUser(ctx, id, "")
	if err != nil {
		return nil, fmt.Errorf("look up user %s: %w", id, err)
	}
	c := model.NewAPIv4Client(srv.URL)
	password := mu.Username + "-Passw0rd!"
	me, _, err := c.Login(ctx, mu.Username, password)
	if err != nil {
		return nil, fmt.Errorf("log in as %s: %w", mu.Username, err)
	}
	u = &harness.User{User: me, Password: password, Client: c}
	env.mu.Lock()
	env.users[id] = u
	env.mu.Unlock()
	return u, nil
}

// dm returns the direct channel between the user and the bot.
func (env *crashEnv) dm(ctx context.Context, userID string) (string, error) {
	env.mu.Lock()
	id := env.dms[userID]
	env.mu.Unlock()
	if id != "" {
		return id, nil
	}
	u, err := env.user(ctx, userID)
	if err != nil {
		return "", err
	}
	ch, err := srv.DirectChannel(ctx, u, &harness.User{User: botUser})
	if err != nil {
		return "", err
	}
	env.mu.Lock()
	env.dms[userID] = ch.Id
	env.mu.Unlock()
	return ch.Id, nil
}

// --- the burst -------------------------------------------------------------

type crashOutcome int

const (
	opNotTried crashOutcome = iota // not sent (an earlier step made it pointless)
	opDone                         // the user was told it succeeded
	opUnknown                      // error, timeout or a reply other than success
)

func (o crashOutcome) String() string {
	return [...]string{"not tried", "done", "unknown"}[o]
}

// crashOp is one step of an incident's plan and what became of it.
type crashOp struct {
	kind    string // start, update, ack, severity, mitigate, resolve
	text    string // the update's text or the resolution summary
	node    int    // index of the node the request went to
	outcome crashOutcome
	detail  string // the reply, error or reason, for failure messages
}

func (op *crashOp) String() string {
	s := op.kind
	if op.kind == "update" {
		s += " " + strconv.Quote(op.text)
	}
	if op.outcome == opNotTried {
		return s + ": not tried (" + op.detail + ")"
	}
	return fmt.Sprintf("%s via node %d: %s (%s)", s, op.node+1, op.outcome, truncate(op.detail, 160))
}

// crashPlan is one incident's steps, run in order by one worker.
type crashPlan struct {
	n       int
	title   string
	starter *harness.User
	ops     []*crashOp
	pause   []time.Duration // before each op
	id      string          // from the start reply
}

func (p *crashPlan) op(kind string) []*crashOp {
	var out []*crashOp
	for _, op := range p.ops {
		if op.kind == kind {
			out = append(out, op)
		}
	}
	return out
}

func (p *crashPlan) history() string {
	parts := make([]string, len(p.ops))
	for i, op := range p.ops {
		parts[i] = op.String()
	}
	return strings.Join(parts, "; ")
}

// newCrashPlan draws incident n's steps from the run's seed: a start at S2
// (which pages the first line), a first status update, then maybe an
// acknowledgement of the page, a severity change to S3, a second update, a
// mitigation and a resolution.
func (env *crashEnv) newCrashPlan(n, nodes int) *crashPlan {
	rng := rand.New(rand.NewPCG(env.seed, uint64(n)))
	p := &crashPlan{n: n, title: fmt.Sprintf("%s%02d", env.prefix, n), starter: env.starters[n%len(env.starters)]}
	add := func(kind, text string) {
		p.ops = append(p.ops, &crashOp{kind: kind, text: text, node: rng.IntN(nodes)})
		p.pause = append(p.pause, time.Duration(rng.IntN(400))*time.Millisecond)
	}
	add("start", "")
	add("update", "first update of "+p.title)
	if rng.IntN(10) < 6 {
		add("ack", "")
	}
	if rng.IntN(10) < 4 {
		add("severity", "S3")
	}
	if rng.IntN(10) < 7 {
		add("update", "second update of "+p.title)
	}
	if rng.IntN(10) < 3 {
		add("mitigate", "")
	}
	if rng.IntN(10) < 6 {
		add("resolve", "fixed: "+p.title)
	}
	return p
}

// crashKill is one planned kill: after gap, kill the plugin on node, leave
// it down for down, then restart it.
type crashKill struct {
	gap, down time.Duration
	node      int
}

func (env *crashEnv) killSchedule(nodes int) []crashKill {
	rng := rand.New(rand.NewPCG(env.seed, 1<<40))
	n := 3 + rng.IntN(3) // 3 to 5
	if nodes > 1 {
		n++
	}
	if v := os.Getenv("INCIDENT_BOT_E2E_CRASH_KILLS"); v != "" {
		// 0 is the control run: the same burst and checks without kills.
		n, _ = strconv.Atoi(v)
	}
	kills := make([]crashKill, n)
	for i := range kills {
		kills[i] = crashKill{
			gap:  500*time.Millisecond + time.Duration(rng.IntN(1500))*time.Millisecond,
			down: 100*time.Millisecond + time.Duration(rng.IntN(1100))*time.Millisecond,
			node: rng.IntN(nodes),
		}
		if i < nodes {
			kills[i].node = i // every node is killed at least once
		}
	}
	return kills
}

// burst is the state shared by the workers and the killer.
type burst struct {
	t        *testing.T
	env      *crashEnv
	nodes    []*harness.Server
	start    time.Time
	inFlight []atomic.Int32 // requests in flight per node

	mu       sync.Mutex
	sessions map[string]*harness.User // node/user -> session on that node
	watches  map[string]*harness.Watcher
}

func (b *burst) session(node int, u *harness.User) *harness.User {
	key := fmt.Sprint(node, "/", u.Id)
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.sessions[key]; s != nil {
		return s
	}
	s := b.nodes[node].Session(u)
	b.sessions[key] = s
	return s
}

const (
	crashMinIncidents = 10
	crashMaxIncidents = 60
	crashWorkers      = 5
)

func runCrashBurst(t *testing.T, env *crashEnv, nodes []*harness.Server) {
	b := &burst{t: t, env: env, nodes: nodes, inFlight: make([]atomic.Int32, len(nodes)),
		sessions: map[string]*harness.User{}, watches: map[string]*harness.Watcher{}}
	t.Cleanup(b.closeWatches)
	// Whatever happens, leave the plugin running for the tests after this
	// one, and this run's incidents resolved (cleanups run last first).
	t.Cleanup(b.ensureRunning)
	t.Cleanup(b.resolveLeftovers)
	plans := make([]*crashPlan, crashMaxIncidents)
	for i := range plans {
		plans[i] = env.newCrashPlan(i+1, len(nodes))
	}
	kills := env.killSchedule(len(nodes))

	b.start = time.Now()
	killerDone := make(chan struct{})
	var killLog []string
	var killErr error
	go func() {
		defer close(killerDone)
		killLog, killErr = b.kill(kills)
	}()

	queue := make(chan *crashPlan)
	produced := 0
	go func() {
		defer close(queue)
		for _, p := range plans {
			if produced >= crashMinIncidents {
				select {
				case <-killerDone:
					return
				default:
				}
			}
			queue <- p
			produced++
		}
	}()
	var wg sync.WaitGroup
	for range crashWorkers {
		wg.Go(func() {
			for p := range queue {
				b.runPlan(p)
			}
		})
	}
	wg.Wait()
	<-killerDone
	plans = plans[:produced]
	t.Logf("burst: %d incidents in %s", len(plans), time.Since(b.start).Round(time.Millisecond))
	for _, l := range killLog {
		t.Log(l)
	}
	b.logOutcomes(plans)
	if killErr != nil {
		t.Fatalf("the plugin did not come back after a kill: %v", killErr)
	}

	settleStart := time.Now()
	violations, rounds := b.settle(plans)
	t.Logf("settled for %s (%d checks)", time.Since(settleStart).Round(time.Millisecond), rounds)
	b.report(plans, violations)
}

// runPlan runs one incident's steps in order. Once its start has an
// unknown outcome there is no id to act on, and the rest is not tried.
func (b *burst) runPlan(p *crashPlan) {
	for i, op := range p.ops {
		time.Sleep(p.pause[i]) // spread the requests over the kill schedule
		if op.kind != "start" && p.id == "" {
			op.detail = "the start's outcome is unknown"
			continue
		}
		switch op.kind {
		case "start":
			reply := b.command(op, p.starter, "/incident start "+p.title+" --severity S2")
			if m := startedRe.FindStringSubmatch(reply); m != nil && op.outcome == opDone {
				p.id = m[1]
			} else {
				op.outcome = opUnknown
			}
		case "update":
			b.expect(op, b.command(op, p.starter, "/incident update #"+p.id+" "+op.text), "Status update posted on #"+p.id)
		case "severity":
			b.expect(op, b.command(op, p.starter, "/incident severity #"+p.id+" "+op.text), "#"+p.id+" is now "+op.text)
		case "mitigate":
			b.expect(op, b.command(op, p.starter, "/incident mitigate #"+p.id), "#"+p.id+" marked mitigated")
		case "resolve":
			b.expect(op, b.command(op, p.starter, "/incident resolve #"+p.id+" "+op.text), "#"+p.id+" resolved.")
		case "ack":
			b.ack(p, op)
		}
	}
}

// command runs a slash command as u on the op's node, from town square (a
// channel every user is in on every node), and returns the reply text. The
// outcome is unknown on an error, done otherwise until expect says.
func (b *burst) command(op *crashOp, u *harness.User, command string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := b.nodes[op.node]
	b.inFlight[op.node].Add(1)
	resp, err := node.ExecuteCommand(ctx, b.session(op.node, u), node.TownSquare.Id, command)
	b.inFlight[op.node].Add(-1)
	if err != nil {
		op.outcome, op.detail = opUnknown, err.Error()
		return ""
	}
	op.outcome, op.detail = opDone, resp.Text
	return resp.Text
}

func (b *burst) expect(op *crashOp, reply, success string) {
	if op.outcome == opDone && !strings.Contains(reply, success) {
		op.outcome = opUnknown
	}
}

// ack clicks Acknowledge on the page's direct message to its target, as the
// target, on the op's node. Done only when the target is shown the plugin's
// confirmation (an ephemeral post, seen on a websocket to that node): the
// server answers the click itself even when the plugin died on it.
func (b *burst) ack(p *crashPlan, op *crashOp) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := readIncident(ctx, b.env.db, p.id)
	if err != nil || rec == nil {
		op.detail = fmt.Sprintf("incident not readable from the store (%v)", err)
		return
	}
	targetID := rec.pageTarget()
	if targetID == "" {
		op.detail = "no role of the escalation chain is filled"
		return
	}
	target, err := b.env.user(ctx, targetID)
	if err != nil {
		op.detail = err.Error()
		return
	}
	dmID, err := b.env.dm(ctx, targetID)
	if err != nil {
		op.detail = err.Error()
		return
	}
	node := b.nodes[op.node]
	as := b.session(op.node, target)
	var post *model.Post
	deadline := time.Now().Add(5 * time.Second)
	for post == nil && time.Now().Before(deadline) {
		posts, _ := node.Posts(ctx, as, dmID)
		for _, q := range posts {
			if id, _ := q.GetProp("page_id").(string); q.UserId == botUser.Id && q.RootId == "" && strings.HasPrefix(id, p.id+"-") {
				post = q
			}
		}
		if post == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if post == nil {
		op.detail = "no page post in the target's direct messages within 5 s"
		return
	}
	w, err := b.watch(ctx, op.node, as)
	if err != nil {
		op.detail = "websocket: " + err.Error()
		return
	}
	mark := w.Mark()
	b.inFlight[op.node].Add(1)
	_, err = node.ClickButton(ctx, as, post.Id, "ackpage")
	b.inFlight[op.node].Add(-1)
	if err != nil {
		op.outcome, op.detail = opUnknown, err.Error()
		return
	}
	// The server sends the ephemeral reply before it answers the click.
	var msg string
	if seen, err := w.Wait(ctx, mark, 3*time.Second, func(s harness.Seen) bool {
		return s.Kind == model.WebsocketEventEphemeralMessage && s.Post.ChannelId == dmID && strings.Contains(s.Post.Message, "#"+p.id)
	}); err == nil {
		msg = seen.Post.Message
	}
	switch {
	case strings.Contains(msg, "Thanks, acknowledged"):
		op.outcome, op.detail = opDone, msg
	case msg == "":
		op.outcome, op.detail = opUnknown, "the click answered but the plugin's confirmation never came"
	default:
		op.outcome, op.detail = opUnknown, msg
	}
}

// kill runs the kill schedule: SIGKILL the plugin process of a node, leave
// it down a moment (requests keep coming and fail), then restart it and
// wait until it answers commands again.
func (b *burst) kill(kills []crashKill) ([]string, error) {
	var log []string
	for i, k := range kills {
		time.Sleep(k.gap)
		node := b.nodes[k.node]
		// Kill while the node is busy, if it gets busy within a second:
		// a kill between requests interrupts only background work.
		busy := time.Now().Add(time.Second)
		for b.inFlight[k.node].Load() == 0 && time.Now().Before(busy) {
			time.Sleep(time.Millisecond)
		}
		inFlight := b.inFlight[k.node].Load()
		killedAt := time.Now()
		pids, err := node.KillPlugin(pluginID)
		if err != nil {
			return log, fmt.Errorf("kill %d on node %d: %w", i+1, k.node+1, err)
		}
		time.Sleep(k.down) // the outage: a restart is not instant in real life either
		restartAt := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		err = node.RestartPlugin(ctx, pluginID)
		running := time.Now()
		if err == nil {
			err = waitAnswering(ctx, node)
		}
		cancel()
		if err != nil {
			return log, fmt.Errorf("kill %d on node %d (pid %v): %w\nplugin log:\n%s", i+1, k.node+1, pids, err, node.PluginLogTail(pluginID, 30))
		}
		log = append(log, fmt.Sprintf("kill %d at +%s: node %d, pid %v, %d requests in flight; down %s, restart took %s (running) / %s (answering); %s from SIGKILL to answering",
			i+1, killedAt.Sub(b.start).Round(time.Millisecond), k.node+1, pids, inFlight, restartAt.Sub(killedAt).Round(time.Millisecond),
			running.Sub(restartAt).Round(time.Millisecond), time.Since(restartAt).Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond)))
	}
	return log, nil
}

// waitAnswering polls until the node's plugin answers a command.
func waitAnswering(ctx context.Context, node *harness.Server) error {
	var lastErr error
	for {
		resp, err := node.ExecuteCommand(ctx, node.Admin, node.TownSquare.Id, "/incident list")
		if err == nil && strings.Contains(strings.ToLower(resp.Text), "incidents") {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("/incident list answered %q", resp.Text)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("plugin not answering /incident list: %w (last: %v)", ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (b *burst) logOutcomes(plans []*crashPlan) {
	counts := map[string]*[3]int{}
	var kinds []string
	for _, p := range plans {
		for _, op := range p.ops {
			c := counts[op.kind]
			if c == nil {
				c = &[3]int{}
				counts[op.kind] = c
				kinds = append(kinds, op.kind)
			}
			c[op.outcome]++
		}
	}
	var parts []string
	for _, k := range kinds {
		c := counts[k]
		parts = append(parts, fmt.Sprintf("%s %d done/%d unknown/%d not tried", k, c[opDone], c[opUnknown], c[opNotTried]))
	}
	b.t.Logf("operations: %s", strings.Join(parts, ", "))
}

// ensureRunning restarts the plugin on any node where it does not answer
// (a kill schedule cut short by a failure).
func (b *burst) ensureRunning() {
	for i, node := range b.nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := waitAnswering(ctx, node)
		cancel()
		if err == nil {
			continue
		}
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		if err := node.RestartPlugin(ctx, pluginID); err != nil {
			b.t.Errorf("node %d: restart the plugin after the test: %v", i+1, err)
		}
		cancel()
	}
}

// resolveLeftovers resolves this run's open incidents so that they do not
// page anyone after the test.
func (b *burst) resolveLeftovers() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	snap, err := b.env.readStore(ctx)
	if err != nil {
		b.t.Logf("resolve leftovers: %v", err)
		return
	}
	for _, rec := range snap.incidents {
		if rec.Status != "resolved" {
			if _, err := srv.ExecuteCommand(ctx, srv.Admin, srv.TownSquare.Id, "/incident resolve #"+rec.ID+" crash test cleanup"); err != nil {
				b.t.Logf("resolve leftover #%s: %v", rec.ID, err)
			}
		}
	}
}

// --- ephemeral posts over the websocket -------------------------------------

// watch returns the websocket watcher of u on a node, opened once.
func (b *burst) watch(ctx context.Context, node int, u *harness.User) (*harness.Watcher, error) {
	key := fmt.Sprint(node, "/", u.Id)
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := b.watches[key]; w != nil {
		return w, nil
	}
	w, err := b.nodes[node].Watch(ctx, u)
	if err != nil {
		return nil, err
	}
	b.watches[key] = w
	return w, nil
}

func (b *burst) closeWatches() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range b.watches {
		w.Close()
	}
}

// --- what the plugin stored -------------------------------------------------

// The plugin's KV layout (server/store/kvstore/keys.go, timeline.go), read
// only: incidents are JSON under inc/v1/<id>; a timeline is a run of JSON
// chunks under tl/v1/<id>/<k>, each {"b": seq of its first event, "s":
// sealed, "e": [events]}; the head hint tl/v1/<id>/h is not needed to read
// them all. The index documents under idx/ (the active incidents, the
// incidents of each month; v1 one set per index, v2 shards and chunked
// logs) list the incidents users can find, each as {"ids": [...]}.

type kvIncident struct {
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	Severity    string            `json:"severity"` // "S1".."S4"
	Status      string            `json:"status"`
	ChannelID   string            `json:"channel_id"`
	CardPostID  string            `json:"card_post_id"`
	CreatedBy   string            `json:"created_by"`
	MitigatedAt time.Time         `json:"mitigated_at"`
	Roles       map[string]string `json:"roles"`
}

// pageTarget is who a page at start goes to: the first holder along the
// escalation chain.
func (inc *kvIncident) pageTarget() string {
	for _, r := range []string{"l1", "l2", "l3", "im"} {
		if u := inc.Roles[r]; u != "" {
			return u
		}
	}
	return ""
}

type kvEvent struct {
	Seq   int               `json:"-"`
	Type  string            `json:"type"`
	Actor string            `json:"actor"`
	Text  string            `json:"text"`
	Data  map[string]string `json:"data"`
}

// sig identifies an event for duplicate detection: everything but its
// time, position and retry key.
func (e kvEvent) sig() string {
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s by %s", e.Type, e.Actor)
	if e.Text != "" {
		fmt.Fprintf(&b, " %q", e.Text)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, e.Data[k])
	}
	return b.String()
}

func readIncident(ctx context.Context, db *sql.DB, id string) (*kvIncident, error) {
	var raw []byte
	err := db.QueryRowContext(ctx, `SELECT pvalue FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey = $2`, pluginID, "inc/v1/"+id).Scan(&raw)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var inc kvIncident
	if err := json.Unmarshal(raw, &inc); err != nil {
		return nil, fmt.Errorf("decode incident %s: %w", id, err)
	}
	return &inc, nil
}

// crashStore is what the plugin stored about this run's incidents.
type crashStore struct {
	incidents    map[string]*kvIncident   // by id
	byTitle      map[string][]*kvIncident // by title
	timelines    map[string][]kvEvent     // by incident id
	timelineErrs map[string]string
	listed       map[string]bool // in the active or a month index
}

func (env *crashEnv) readStore(ctx context.Context) (*crashStore, error) {
	rows, err := env.db.QueryContext(ctx, `SELECT pkey, pvalue FROM pluginkeyvaluestore
		WHERE pluginid = $1 AND (pkey LIKE 'inc/v1/%' OR pkey LIKE 'tl/v1/%' OR pkey LIKE 'idx/%')`, pluginID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	s := &crashStore{incidents: map[string]*kvIncident{}, byTitle: map[string][]*kvIncident{},
		timelines: map[string][]kvEvent{}, timelineErrs: map[string]string{}, listed: map[string]bool{}}
	type chunk struct {
		k      int
		Base   int               `json:"b"`
		Sealed bool              `json:"s"`
		Events []json.RawMessage `json:"e"`
	}
	chunks := map[string][]chunk{}
	var indexes [][]byte
	for rows.Next() {
		var key string
		var raw []byte
		if err := rows.Scan(&key, &raw); err != nil {
			return nil, err
		}
		switch {
		case strings.HasPrefix(key, "inc/v1/"):
			var inc kvIncident
			if err := json.Unmarshal(raw, &inc); err != nil {
				return nil, fmt.Errorf("decode %s: %w", key, err)
			}
			if strings.HasPrefix(inc.Title, env.prefix) {
				s.incidents[inc.ID] = &inc
				s.byTitle[inc.Title] = append(s.byTitle[inc.Title], &inc)
			}
		case strings.HasPrefix(key, "tl/v1/"):
			id, k, ok := strings.Cut(strings.TrimPrefix(key, "tl/v1/"), "/")
			n, err := strconv.Atoi(k)
			if !ok || err != nil {
				continue // the head hint
			}
			c := chunk{k: n}
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, fmt.Errorf("decode %s: %w", key, err)
			}
			chunks[id] = append(chunks[id], c)
		default:
			indexes = append(indexes, raw)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, raw := range indexes {
		var set struct {
			IDs []string `json:"ids"`
		}
		if json.Unmarshal(raw, &set) == nil {
			for _, id := range set.IDs {
				s.listed[id] = true
			}
		}
	}
	for id := range s.incidents {
		cs := chunks[id]
		sort.Slice(cs, func(i, j int) bool { return cs[i].k < cs[j].k })
		next := 0
		for i, c := range cs {
			if c.k != i || c.Base != next || (i < len(cs)-1 && !c.Sealed) {
				s.timelineErrs[id] = fmt.Sprintf("timeline chunks do not follow each other: chunk %d (position %d) starts at seq %d, want %d (sealed %t)", c.k, i, c.Base, next, c.Sealed)
				break
			}
			for j, raw := range c.Events {
				var e kvEvent
				if err := json.Unmarshal(raw, &e); err != nil {
					return nil, fmt.Errorf("decode event %d of #%s: %w", c.Base+j, id, err)
				}
				e.Seq = c.Base + j
				s.timelines[id] = append(s.timelines[id], e)
			}
			next = c.Base + len(c.Events)
		}
	}
	return s, nil
}

// --- what users see -----------------------------------------------------------

// crashSnapshot is the store plus the posts and members the checks need,
// all read through the first server (post lists of 200 are not cached, so
// they show what either node wrote).
type crashSnapshot struct {
	*crashStore
	channelPosts map[string][]*model.Post // incident id -> its channel's posts
	members      map[string]map[string]bool
	broadcast    []*model.Post
	rota         []*model.Post
	dms          map[string][]*model.Post // user id -> their direct channel with the bot
}

func (env *crashEnv) snapshot(ctx context.Context) (*crashSnapshot, error) {
	st, err := env.readStore(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the plugin's KV rows: %w", err)
	}
	s := &crashSnapshot{crashStore: st, channelPosts: map[string][]*model.Post{}, members: map[string]map[string]bool{}, dms: map[string][]*model.Post{}}
	for id, inc := range st.incidents {
		if s.channelPosts[id], err = allPosts(ctx, srv.Admin, inc.ChannelID); err != nil {
			return nil, fmt.Errorf("posts of #%s: %w", id, err)
		}
		ms, _, err := srv.Admin.Client.GetChannelMembers(ctx, inc.ChannelID, 0, 200, "")
		if err != nil {
			return nil, fmt.Errorf("members of #%s: %w", id, err)
		}
		s.members[id] = map[string]bool{}
		for _, m := range ms {
			s.members[id][m.UserId] = true
		}
		if target := inc.pageTarget(); target != "" && s.dms[target] == nil {
			dmID, err := env.dm(ctx, target)
			if err != nil {
				return nil, err
			}
			u, err := env.user(ctx, target)
			if err != nil {
				return nil, err
			}
			if s.dms[target], err = allPosts(ctx, u, dmID); err != nil {
				return nil, fmt.Errorf("direct messages of %s: %w", u.Username, err)
			}
		}
	}
	if s.broadcast, err = allPosts(ctx, srv.Admin, env.broadcastCh.Id); err != nil {
		return nil, err
	}
	if s.rota, err = allPosts(ctx, srv.Admin, env.rotaCh.Id); err != nil {
		return nil, err
	}
	return s, nil
}

// allPosts returns every post of a channel as u sees it, oldest first.
func allPosts(ctx context.Context, u *harness.User, channelID string) ([]*model.Post, error) {
	const perPage = 200
	var out []*model.Post
	for page := 0; ; page++ {
		list, _, err := u.Client.GetPostsForChannel(ctx, channelID, page, perPage, "", false, false)
		if err != nil {
			return nil, fmt.Errorf("posts of channel %s as %s: %w", channelID, u.Username, err)
		}
		for i := len(list.Order) - 1; i >= 0; i-- {
			out = append(out, list.Posts[list.Order[i]])
		}
		if len(list.Order) < perPage {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreateAt < out[j].CreateAt })
	return out, nil
}

// --- the checks ---------------------------------------------------------------

// crashViolation is one broken invariant of one incident (n 0: of none).
type crashViolation struct {
	n    int
	id   string // the incident's id, if known
	ref  string
	what string
}

func (v crashViolation) String() string { return v.ref + ": " + v.what }

var severityLabel = map[string]string{"S1": "critical", "S2": "major", "S3": "minor", "S4": "low"}

func statusLabel(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Messages of the bot for timeline events (server/bot/notify.go): what a
// post in the incident channel and one in the broadcast channel contain.
func eventPostMarks(id string, e kvEvent) (local, broadcast []string) {
	switch e.Type {
	case "status_update":
		return []string{"**Status update** by", e.Text}, []string{"#" + id, "status update by", e.Text}
	case "severity_changed":
		from, to := e.Data["from"], e.Data["to"]
		return []string{"changed the severity from " + from + " to **" + to + "**"}, []string{"#" + id, "is now **" + to + "** (was " + from + ")"}
	case "mitigated":
		return []string{"marked the incident **mitigated**"}, []string{"#" + id, "is **mitigated**"}
	case "resolved":
		return []string{"**resolved** the incident"}, []string{"#" + id, "is **resolved**"}
	}
	return nil, nil
}

func (b *burst) check(plans []*crashPlan, s *crashSnapshot) []crashViolation {
	var out []crashViolation
	byTitle := map[string]*crashPlan{}
	for _, p := range plans {
		byTitle[p.title] = p
	}
	for _, p := range plans {
		recs := s.byTitle[p.title]
		ref := fmt.Sprintf("incident %q (#%s)", p.title, p.id)
		bad := func(format string, args ...any) {
			out = append(out, crashViolation{p.n, p.id, ref, fmt.Sprintf(format, args...)})
		}
		start := p.ops[0]
		switch {
		case len(recs) > 1:
			var ids []string
			for _, r := range recs {
				ids = append(ids, "#"+r.ID)
			}
			bad("store: one start (%s) made %d incidents: %s", start.outcome, len(recs), strings.Join(ids, ", "))
		case start.outcome == opDone && len(recs) == 0:
			bad("store: the start was acknowledged (%q) but no incident with this title is stored", truncate(start.detail, 100))
		case start.outcome == opDone && recs[0].ID != p.id:
			bad("store: the start reply named #%s but the stored incident is #%s", p.id, recs[0].ID)
		}
	}
	ids := make([]string, 0, len(s.incidents))
	for id := range s.incidents {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return s.incidents[ids[i]].Title < s.incidents[ids[j]].Title })
	for _, id := range ids {
		inc := s.incidents[id]
		p := byTitle[inc.Title]
		if p == nil {
			out = append(out, crashViolation{0, id, fmt.Sprintf("incident #%s %q", id, inc.Title), "store: an incident no plan started"})
			continue
		}
		if p.ops[0].outcome != opDone && !s.listed[id] {
			// The start's outcome is unknown and the record is in no
			// index: users cannot find it (a crash between the record
			// and its indexes). Nothing to check.
			continue
		}
		out = append(out, b.checkIncident(p, inc, s)...)
	}
	return out
}

func (b *burst) checkIncident(p *crashPlan, inc *kvIncident, s *crashSnapshot) []crashViolation {
	id := inc.ID
	ref := fmt.Sprintf("incident %q (#%s)", p.title, id)
	if p.ops[0].outcome != opDone {
		ref += " [start not acknowledged, but the incident is listed]"
	}
	var out []crashViolation
	bad := func(format string, args ...any) {
		out = append(out, crashViolation{p.n, id, ref, fmt.Sprintf(format, args...)})
	}
	evs := s.timelines[id]
	if e := s.timelineErrs[id]; e != "" {
		bad("timeline: %s", e)
	}
	count := func(typ string, match func(kvEvent) bool) int {
		n := 0
		for _, e := range evs {
			if e.Type == typ && (match == nil || match(e)) {
				n++
			}
		}
		return n
	}
	types := func() string {
		var ts []string
		for _, e := range evs {
			ts = append(ts, e.Type)
		}
		return "[" + strings.Join(ts, " ") + "]"
	}

	// The timeline: no event twice, the start and its staffing and page
	// once each, every acknowledged operation once, unknown ones at most
	// once, and an event for every change the record shows.
	seen := map[string]int{}
	for _, e := range evs {
		seen[e.sig()]++
	}
	for sig, n := range seen {
		if n > 1 {
			bad("timeline: event %s recorded %d times", sig, n)
		}
	}
	if len(evs) == 0 {
		bad("timeline: empty (no 'started', 'role_assigned' or 'paged' event)")
	} else if n := count("started", nil); n != 1 {
		bad("timeline: %d 'started' events, want 1; timeline %s", n, types())
	}
	for _, role := range []string{"im", "l1", "l2", "l3", "rm"} {
		holder := inc.Roles[role]
		if holder == "" {
			bad("store: role %s is open although the rota has a member for it", role)
			continue
		}
		if n := count("role_assigned", func(e kvEvent) bool { return e.Data["role"] == role && e.Data["to"] == holder }); n != 1 && len(evs) > 0 {
			bad("timeline: %d 'role_assigned' events for %s, want 1", n, role)
		}
		if !s.members[id][holder] {
			bad("channel: the %s holder is not a member of the incident channel", role)
		}
	}
	if !s.members[id][inc.CreatedBy] {
		bad("channel: the starter is not a member of the incident channel")
	}
	for _, typ := range []string{"page_escalated", "page_renotified"} {
		if n := count(typ, nil); n != 0 {
			bad("timeline: %d %q events; escalation is 10 minutes away and re-notification is off", n, typ)
		}
	}
	want := func(op *crashOp, n int, what string) {
		switch {
		case op.outcome == opDone && n != 1:
			bad("timeline: %s was acknowledged to the user but is recorded %d times; timeline %s", what, n, types())
		case op.outcome == opUnknown && n > 1:
			bad("timeline: %s (outcome unknown) is recorded %d times", what, n)
		case op.outcome == opNotTried && n != 0:
			bad("timeline: %s was never sent but is recorded %d times", what, n)
		}
	}
	for _, op := range p.op("update") {
		want(op, count("status_update", func(e kvEvent) bool { return e.Text == op.text }), "the update "+strconv.Quote(op.text))
	}
	for _, op := range p.op("severity") {
		want(op, count("severity_changed", func(e kvEvent) bool { return e.Data["to"] == op.text }), "the severity change to "+op.text)
	}
	for _, op := range p.op("mitigate") {
		want(op, count("mitigated", nil), "the mitigation")
	}
	for _, op := range p.op("resolve") {
		want(op, count("resolved", nil), "the resolution")
	}
	for _, op := range p.op("ack") {
		want(op, count("page_acknowledged", nil), "the page acknowledgement")
	}
	for _, op := range p.op("resolve") {
		if op.outcome == opDone && inc.Status != "resolved" {
			bad("store: the resolution was acknowledged but the incident is %s", inc.Status)
		}
	}
	for _, op := range p.op("severity") {
		if op.outcome == opDone && inc.Severity != op.text {
			bad("store: the change to %s was acknowledged but the incident is %s", op.text, inc.Severity)
		}
	}
	for _, op := range p.op("mitigate") {
		if op.outcome == opDone && inc.MitigatedAt.IsZero() {
			bad("store: the mitigation was acknowledged but the incident has no mitigation time")
		}
	}
	if r := count("resolved", nil); (inc.Status == "resolved") != (r == 1) {
		bad("timeline: the incident is %s and its timeline has %d 'resolved' events", inc.Status, r)
	}
	if c := count("severity_changed", nil); (inc.Severity != "S2") != (c == 1) {
		bad("timeline: the incident started S2, is %s now, and its timeline has %d 'severity_changed' events", inc.Severity, c)
	}
	// A resolution sets the mitigation time too when there was none, so
	// only a mitigated incident must have the event.
	if m := count("mitigated", nil); (inc.Status == "mitigated" && m != 1) || (m > 0 && inc.MitigatedAt.IsZero()) {
		bad("timeline: the incident is %s (mitigation time %v) and its timeline has %d 'mitigated' events", inc.Status, inc.MitigatedAt, m)
	}

	// The card: exactly one, current.
	var cards, others []*model.Post
	for _, post := range s.channelPosts[id] {
		if post.UserId != botUser.Id || post.Type != "" {
			continue
		}
		if as := post.Attachments(); len(as) == 1 && post.GetProp("incident_id") == id && strings.HasPrefix(as[0].Title, "Incident #"+id+":") {
			cards = append(cards, post)
		} else {
			others = append(others, post)
		}
	}
	switch {
	case len(cards) != 1:
		var which []string
		for _, c := range cards {
			which = append(which, fmt.Sprintf("%s at %s (%s, %s)", c.Id, time.UnixMilli(c.CreateAt).UTC().Format("15:04:05.000"), cardField(c, "Severity"), cardField(c, "Status")))
		}
		bad("card: %d cards in the incident channel, want 1 (the store links %q): %s", len(cards), inc.CardPostID, strings.Join(which, "; "))
	case inc.CardPostID != cards[0].Id:
		bad("card: the store links post %q, the channel's card is %s", inc.CardPostID, cards[0].Id)
	default:
		wantStatus, wantSev := statusLabel(inc.Status), fmt.Sprintf("%s (%s)", inc.Severity, severityLabel[inc.Severity])
		if got := cardField(cards[0], "Status"); got != wantStatus {
			bad("card: shows status %q, the incident is %q", got, wantStatus)
		}
		if got := cardField(cards[0], "Severity"); got != wantSev {
			bad("card: shows severity %q, the incident is %q", got, wantSev)
		}
	}

	// The announcement and one post per event, in the incident channel and
	// the broadcast channel.
	var bcast []*model.Post
	for _, post := range s.broadcast {
		if post.UserId == botUser.Id && post.GetProp("incident_id") == id {
			bcast = append(bcast, post)
		}
	}
	countPosts := func(posts []*model.Post, marks []string) int {
		n := 0
		for _, post := range posts {
			if containsAll(harness.PostText(post), marks...) {
				n++
			}
		}
		return n
	}
	if n := countPosts(bcast, []string{"Incident #" + id + " started"}); n != 1 {
		bad("announcement: %d start announcements in the broadcast channel, want 1", n)
	}
	checked := map[string]bool{}
	for _, e := range evs {
		local, broadcast := eventPostMarks(id, e)
		if local == nil || checked[e.sig()] {
			continue
		}
		checked[e.sig()] = true
		if n := countPosts(others, local); n != 1 {
			bad("posts: %d posts in the incident channel for the %s event (%s), want 1", n, e.Type, truncate(strings.Join(local, " "), 80))
		}
		if n := countPosts(bcast, broadcast); n != 1 {
			bad("posts: %d posts in the broadcast channel for the %s event (%s), want 1", n, e.Type, truncate(strings.Join(broadcast[1:], " "), 80))
		}
	}
	for _, op := range p.op("update") {
		if count("status_update", func(e kvEvent) bool { return e.Text == op.text }) == 0 {
			if n := countPosts(others, []string{"**Status update** by", op.text}); n != 0 {
				bad("posts: the update %q (%s) is posted %d times in the incident channel but not on the timeline", op.text, op.outcome, n)
			}
		}
	}

	// The postmortem, once resolved.
	var pmEvents, pmPosts int
	pmEvents = count("postmortem_posted", nil)
	for _, post := range others {
		if part, _ := post.GetProp("postmortem_part").(string); strings.HasPrefix(part, "1/") {
			pmPosts++
		}
	}
	if inc.Status == "resolved" {
		if pmEvents != 1 || pmPosts != 1 {
			bad("postmortem: resolved, with %d 'postmortem_posted' events and %d postmortems in the incident channel; want 1 and 1", pmEvents, pmPosts)
		}
	} else if pmEvents != 0 || pmPosts != 0 {
		bad("postmortem: %s, yet %d 'postmortem_posted' events and %d postmortems posted", inc.Status, pmEvents, pmPosts)
	}

	// The page: one, with one post in the rota channel and one by DM, and
	// no reminders; both show whether it was acknowledged.
	target := inc.pageTarget()
	pages := map[string]map[string][]*model.Post{} // page id -> where -> root posts
	var replies int
	collect := func(where string, posts []*model.Post) {
		roots := map[string]string{}
		for _, post := range posts {
			pid, _ := post.GetProp("page_id").(string)
			if post.UserId == botUser.Id && post.RootId == "" && strings.HasPrefix(pid, id+"-") {
				if pages[pid] == nil {
					pages[pid] = map[string][]*model.Post{}
				}
				pages[pid][where] = append(pages[pid][where], post)
				roots[post.Id] = pid
			}
		}
		for _, post := range posts {
			if post.UserId == botUser.Id && roots[post.RootId] != "" {
				replies++
			}
		}
	}
	collect("rota", s.rota)
	collect("dm", s.dms[target])
	acked := count("page_acknowledged", nil) == 1
	// A page whose first notice a kill interrupted (after the notice went
	// on the timeline, before any post) may be closed unsent when its
	// incident is resolved before the notice is retried, and a start whose
	// follow-up a kill interrupted before the page opens none once its
	// incident is resolved: nobody needs paging for a resolved incident.
	// Otherwise an S2 start pages the first line once.
	paged, closed := count("paged", nil), count("page_closed", nil)
	if unsent := len(pages) == 0 && paged <= closed && closed <= 1 && inc.Status == "resolved"; !unsent {
		if paged != 1 && len(evs) > 0 {
			bad("timeline: %d 'paged' events, want 1 (an S2 start pages the first line); timeline %s", paged, types())
		}
		if len(pages) != 1 {
			bad("page: %d pages posted, want 1", len(pages))
		}
	}
	// A notice a kill cut off half-way is not completed once its page is
	// closed (the incident was resolved): a destination may then lack it.
	cutOff := closed == 1 && inc.Status == "resolved"
	for pid, where := range pages {
		for _, w := range []string{"rota", "dm"} {
			posts := where[w]
			name := map[string]string{"rota": "in the rota channel", "dm": "in the target's direct messages"}[w]
			if len(posts) == 0 && cutOff {
				continue
			}
			if len(posts) != 1 {
				bad("page: %d posts of page %s %s, want 1", len(posts), pid, name)
				continue
			}
			text := harness.PostText(posts[0])
			if acked && !strings.Contains(text, "✅ Acknowledged by") {
				bad("page: acknowledged on the timeline, but its post %s does not show it", name)
			}
			if !acked && strings.Contains(text, "Acknowledged by") {
				bad("page: not acknowledged on the timeline, but its post %s says %q", name, lineWith(text, "Acknowledged by"))
			}
		}
	}
	if replies != 0 {
		bad("page: %d reminders posted; re-notification is off", replies)
	}

	// No post twice.
	dup := func(where string, posts []*model.Post) {
		n := map[string]int{}
		for _, post := range posts {
			n[harness.PostText(post)]++
		}
		for text, c := range n {
			if c > 1 {
				bad("posts: %d identical posts %s: %q", c, where, truncate(text, 100))
			}
		}
	}
	dup("in the incident channel", others)
	dup("in the broadcast channel", bcast)
	return out
}

// settle polls the checks until every incident is whole (then confirms
// over two more ticks that nothing late, such as a duplicate, turns up),
// nothing observable changed for crashQuiet, or crashSettle passed.
func (b *burst) settle(plans []*crashPlan) ([]crashViolation, int) {
	ctx, cancel := context.WithTimeout(context.Background(), crashSettle+time.Minute)
	defer cancel()
	deadline := time.Now().Add(crashSettle)
	var (
		last       []crashViolation
		lastPrint  string
		lastChange = time.Now()
		lastErr    error
		rounds     int
	)
	for {
		rounds++
		s, err := b.env.snapshot(ctx)
		if err != nil {
			lastErr = err
		} else {
			lastErr = nil
			last = b.check(plans, s)
			if len(last) == 0 {
				waitTicks(b.t, ctx, 2)
				s, err := b.env.snapshot(ctx)
				if err != nil {
					b.t.Fatalf("read the final state: %v", err)
				}
				return b.check(plans, s), rounds + 1
			}
			var lines []string
			for _, v := range last {
				lines = append(lines, v.String())
			}
			sort.Strings(lines)
			if print := strings.Join(lines, "\n"); print != lastPrint {
				lastPrint, lastChange = print, time.Now()
			}
			if time.Since(lastChange) >= crashQuiet {
				return last, rounds
			}
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				b.t.Fatalf("read the final state: %v", lastErr)
			}
			return last, rounds
		}
		time.Sleep(time.Second)
	}
}

func (b *burst) report(plans []*crashPlan, vs []crashViolation) {
	if len(vs) == 0 {
		b.t.Logf("all %d incidents whole", len(plans))
		return
	}
	byPlan := map[int][]crashViolation{}
	kinds := map[string]int{}
	for _, v := range vs {
		byPlan[v.n] = append(byPlan[v.n], v)
		kinds[strings.SplitN(v.what, ":", 2)[0]]++
	}
	var ns []int
	for n := range byPlan {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	for _, n := range ns {
		group := byPlan[n]
		sort.Slice(group, func(i, j int) bool { return group[i].what < group[j].what })
		var b2 strings.Builder
		fmt.Fprintf(&b2, "%s is not whole:", group[0].ref)
		for _, v := range group {
			b2.WriteString("\n    - " + v.what)
		}
		if n > 0 {
			b2.WriteString("\n    operations: " + plans[n-1].history())
		}
		if id := group[0].id; id != "" {
			b2.WriteString(b.env.kvDiagnosis(id))
		}
		b.t.Error(b2.String())
	}
	var summary []string
	for k, c := range kinds {
		summary = append(summary, fmt.Sprintf("%s ×%d", k, c))
	}
	sort.Strings(summary)
	b.t.Errorf("%d of %d incidents not whole after the kills; broken invariants: %s", len(byPlan), len(plans), strings.Join(summary, ", "))
}

// kvDiagnosis lists the plugin's KV rows that name the incident, besides
// its record and timeline (pages, work leases, timers...), for whoever
// debugs a failure.
func (env *crashEnv) kvDiagnosis(id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := env.db.QueryContext(ctx, `SELECT pkey, pvalue FROM pluginkeyvaluestore
		WHERE pluginid = $1 AND pkey LIKE '%' || $2 || '%' AND pkey NOT LIKE 'inc/%' AND pkey NOT LIKE 'tl/%' ORDER BY pkey`, pluginID, id)
	if err != nil {
		return "\n    KV rows: " + err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var key string
		var raw []byte
		if err := rows.Scan(&key, &raw); err != nil {
			return "\n    KV rows: " + err.Error()
		}
		fmt.Fprintf(&b, "\n    KV %s = %s", key, truncate(string(raw), 300))
	}
	return b.String()
}

// lineWith returns the line of s that contains sub.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
