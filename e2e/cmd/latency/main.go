// Command latency measures, on a real Mattermost server started for the
// purpose, how long users wait for the incident bot, at several numbers of
// open incidents (default 10 and 1,000):
//
//   - /incident start, with a full rota (five distinct people hold im, l1,
//     l2, l3 and rm, so a start staffs five role holders) and paging on for
//     the severity used (S3);
//   - the page reaching the first line: from sending /incident start until
//     the page's direct message from the bot is visible to the l1 holder;
//   - the l1 holder's Acknowledge click on that page;
//   - /incident update;
//   - a card click (changing the severity);
//
// beside the built-in /echo in the same run, as the server's own baseline.
// It prints one Markdown table of median, p99 and max per size.
//
// The open incidents of each size are real incidents started through the
// plugin with /incident start by a few concurrent workers; they stay open.
// They are S4 (not paged), so a thousand of them do not page, re-notify and
// escalate during the run. Each measured incident is resolved at the end of
// its round, so the number of open incidents stays at the size while it is
// measured.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

const pluginID = "io.incidentbot.mattermost"

// escalationTimeouts pages S3, the severity of the measured starts; S4, the
// severity of the incidents that only fill the store, is not paged.
const escalationTimeouts = "S1=5m, S2=10m, S3=15m, S4=off"

// roles are the rota's role codes, each held by a different user.
var roles = []string{"im", "l1", "l2", "l3", "rm"}

// effectWait bounds every poll for an asynchronous effect of a call.
const effectWait = 20 * time.Second

// pagePoll is how often the first line's direct channel is polled for the
// page: short, since the delay is what is measured.
const pagePoll = 5 * time.Millisecond

func main() {
	n := flag.Int("n", 50, "calls per measured operation and size")
	sizesFlag := flag.String("sizes", "10,1000", "comma separated numbers of open incidents to measure at, ascending")
	bundle := flag.String("bundle", "", "plugin bundle (default: build with make dist-host)")
	workers := flag.Int("workers", 4, "concurrent /incident start calls while creating the open incidents")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up after this long")
	settle := flag.Duration("settle", 75*time.Second, "after creating the open incidents of a size, let the server settle this long before measuring: "+
		"each start is looked at once more a minute later by the cluster tick (the follow-up worker's grace check), and PostgreSQL vacuums the new rows; 0 measures at once")
	flag.Parse()
	sizes, err := parseSizes(*sizesFlag)
	if err == nil && *n < 1 {
		err = errors.New("-n must be at least 1")
	}
	if err == nil && *workers < 1 {
		err = errors.New("-workers must be at least 1")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(2)
	}
	if err := run(*n, sizes, *bundle, *workers, *timeout, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
}

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("-sizes: %q is not a number of incidents", f)
		}
		sizes = append(sizes, v)
	}
	sort.Ints(sizes)
	for i := 1; i < len(sizes); i++ {
		if sizes[i] == sizes[i-1] {
			return nil, fmt.Errorf("-sizes: %d twice", sizes[i])
		}
	}
	if len(sizes) == 0 {
		return nil, errors.New("-sizes: none given")
	}
	return sizes, nil
}

// op is one measured operation; the order here is the table's.
type op int

const (
	opEcho op = iota
	opStart
	opPageDM
	opAck
	opUpdate
	opClick
	numOps
)

var opNames = [numOps]string{
	opEcho:   "`/echo` (built-in baseline)",
	opStart:  "`/incident start` (S3, 5 role holders, paged)",
	opPageDM: "start sent → page DM visible to l1",
	opAck:    "page Acknowledge click (l1, in the DM)",
	opUpdate: "`/incident update`",
	opClick:  "card click (change severity)",
}

// fill records how the open incidents of one size were made.
type fill struct {
	created       int
	starts        time.Duration // until the last /incident start returned
	drained       time.Duration // until every announcement of them was posted
	failedReplies int           // starts that had to be retried
	open          string        // what /incident list counted afterwards
}

// bench is the running server and the people of the measurement.
type bench struct {
	srv       *harness.Server
	starter   *harness.User
	holders   map[string]*harness.User
	l1DM      string // the l1 holder's direct channel with the bot
	broadcast *model.Channel
	seenPages map[string]bool
	notes     []string
}

func run(n int, sizes []int, bundle string, workers int, timeout, settle time.Duration) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if bundle == "" {
		var err error
		if bundle, err = harness.BuildBundle(ctx); err != nil {
			return err
		}
	}
	srv, err := harness.Start(ctx, harness.Options{
		Users: 1 + len(roles),
		// Every incident has its own channel: allow far more than the
		// default 2,000 channels per team.
		ConfigPatch: map[string]map[string]any{"TeamSettings": {"MaxChannelsPerTeam": 1000000}},
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	b, err := setUp(ctx, srv, bundle)
	if err != nil {
		return err
	}
	progress("server and rota ready after %s", time.Since(began).Round(time.Second))

	results := make([][numOps][]time.Duration, len(sizes))
	var statements []string
	fills := make([]fill, len(sizes))
	open := 0
	for si, size := range sizes {
		f, err := b.fillTo(ctx, open, size, workers)
		if err != nil {
			return err
		}
		fills[si], open = f, size
		if settle > 0 && f.created > 0 {
			progress("%d open incidents (%s); settling for %s", size, f.describe(), settle)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(settle):
			}
		}
		progress("%d open incidents; measuring %d rounds", size, n)
		// One warm-up round per size, so first-call costs (connections,
		// caches) are not measured.
		for i := -1; i < n; i++ {
			var r [numOps]time.Duration
			if err := b.round(ctx, fmt.Sprintf("%d-%d", size, i), &r); err != nil {
				return fmt.Errorf("size %d, round %d: %w", size, i, err)
			}
			if i >= 0 {
				for o := range r {
					results[si][o] = append(results[si][o], r[o])
				}
			}
		}
		var counted string
		busy, quiet, err := b.countStatements(ctx, func() (err error) {
			counted, err = b.startAndSettle(ctx, fmt.Sprintf("%d-kv", size))
			return err
		})
		if err != nil {
			return fmt.Errorf("size %d, statement log: %w", size, err)
		}
		// Resolved after the count, so that the next size starts from
		// exactly this one.
		if err := b.expect(ctx, b.starter, b.srv.TownSquare.Id, "/incident resolve #"+counted+" counted", "resolved"); err != nil {
			return err
		}
		statements = append(statements, fmt.Sprintf("with %d open: one /incident start and its follow-up %s; a quiet window as long %s", size, busy, quiet))
	}

	fmt.Printf("\nReal Mattermost %s on this machine; %d sequential calls per operation and size (ms)\n\n", harness.ServerVersion, n)
	var head, rule strings.Builder
	head.WriteString("| operation |")
	rule.WriteString("|---|")
	for _, size := range sizes {
		fmt.Fprintf(&head, " %d open: median | p99 | max |", size)
		rule.WriteString("---|---|---|")
	}
	fmt.Println(head.String())
	fmt.Println(rule.String())
	for o := op(0); o < numOps; o++ {
		fmt.Printf("| %s |", opNames[o])
		for si := range sizes {
			d := results[si][o]
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			fmt.Printf(" %.1f | %.1f | %.1f |", ms(pct(d, 50)), ms(pct(d, 99)), ms(d[len(d)-1]))
		}
		fmt.Println()
	}
	fmt.Printf("\nN = %d per operation and size (after one warm-up round per size); the page DM is polled every %s.\n", n, pagePoll)
	for si, size := range sizes {
		fmt.Printf("Open incidents for size %d: %s.\n", size, fills[si].describe())
	}
	fmt.Println("\nPlugin KV statements in PostgreSQL's statement log:")
	for _, line := range statements {
		fmt.Println("- " + line)
	}
	for _, note := range b.notes {
		fmt.Println("Note:", note)
	}
	for _, line := range pluginProblems(srv.LogPath) {
		fmt.Println("Plugin log:", line)
	}
	fmt.Printf("Total run time %s.\n", time.Since(began).Round(time.Second))
	return nil
}

func (f fill) describe() string {
	s := fmt.Sprintf("%d created by /incident start (S4)", f.created)
	if f.created > 0 {
		s += fmt.Sprintf(" in %s, announcements all posted after %s", f.starts.Round(time.Millisecond), f.drained.Round(time.Millisecond))
	}
	if f.failedReplies > 0 {
		s += fmt.Sprintf(", %d failed replies retried", f.failedReplies)
	}
	return s + "; /incident list: " + f.open
}

// setUp installs the plugin, configures paging and a broadcast channel, and
// puts five distinct users on the rota, one per role.
func setUp(ctx context.Context, srv *harness.Server, bundle string) (*bench, error) {
	if err := srv.InstallPlugin(ctx, bundle, pluginID); err != nil {
		return nil, err
	}
	b := &bench{srv: srv, starter: srv.Users[0], holders: map[string]*harness.User{}, seenPages: map[string]bool{}}
	var err error
	if b.broadcast, err = srv.NewChannel(ctx, "incidents", false, srv.Users...); err != nil {
		return nil, err
	}
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{
		"BroadcastChannelID": b.broadcast.Id,
		"EscalationTimeouts": escalationTimeouts,
	}); err != nil {
		return nil, err
	}
	for i, role := range roles {
		b.holders[role] = srv.Users[1+i]
	}
	rotaChannel, err := srv.NewChannel(ctx, "rota", false, srv.Users...)
	if err != nil {
		return nil, err
	}
	for _, role := range roles {
		u := b.holders[role]
		if err := b.expect(ctx, srv.Admin, rotaChannel.Id, "/incident rota set "+role+" @"+u.Username, "rota set"); err != nil {
			return nil, err
		}
	}
	if err := b.expect(ctx, srv.Admin, rotaChannel.Id, "/incident rota channel", "now the rota channel"); err != nil {
		return nil, err
	}
	botUser, _, err := srv.Admin.Client.GetUserByUsername(ctx, "incident", "")
	if err != nil {
		return nil, fmt.Errorf("find bot user: %w", err)
	}
	dm, err := srv.DirectChannel(ctx, b.holders["l1"], &harness.User{User: botUser})
	if err != nil {
		return nil, err
	}
	b.l1DM = dm.Id
	return b, nil
}

// expect runs command as u and fails unless the reply contains want.
func (b *bench) expect(ctx context.Context, u *harness.User, channelID, command, want string) error {
	r, err := b.srv.ExecuteCommand(ctx, u, channelID, command)
	if err != nil {
		return err
	}
	if !strings.Contains(r.Text, want) {
		return fmt.Errorf("%s: reply %q does not contain %q", command, r.Text, want)
	}
	return nil
}

var startedRe = regexp.MustCompile(`Incident #([a-z0-9]+) started`)

// startIncident runs /incident start as u and returns the incident's id and
// channel name, or the reply when it is not a start.
func (b *bench) startIncident(ctx context.Context, u *harness.User, args string) (id, channelName, reply string, err error) {
	resp, err := b.srv.ExecuteCommand(ctx, u, b.srv.TownSquare.Id, "/incident start "+args)
	if err != nil {
		return "", "", "", err
	}
	m := startedRe.FindStringSubmatch(resp.Text)
	if m == nil || resp.GotoLocation == "" {
		return "", "", resp.Text, nil
	}
	return m[1], resp.GotoLocation[strings.LastIndex(resp.GotoLocation, "/")+1:], resp.Text, nil
}

// fillTo starts incidents until size are open, with concurrent workers, and
// waits until the plugin has announced all of them (their asynchronous work
// is done) so it does not run into the measurement.
func (b *bench) fillTo(ctx context.Context, open, size, workers int) (fill, error) {
	f := fill{created: size - open}
	if f.created > 0 {
		before, err := b.broadcastPosts(ctx)
		if err != nil {
			return f, err
		}
		t0 := time.Now()
		var next, failed atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1))
					if i > f.created {
						return
					}
					for try := 1; ; try++ {
						_, _, reply, err := b.startIncident(fctx, b.starter, fmt.Sprintf("Open incident %d --severity S4", open+i))
						if err == nil && reply != "" && startedRe.MatchString(reply) {
							break
						}
						if err == nil {
							err = fmt.Errorf("reply %q", reply)
						}
						failed.Add(1)
						if try == 5 || fctx.Err() != nil {
							errs <- fmt.Errorf("start open incident %d (try %d): %w", open+i, try, err)
							cancel()
							return
						}
					}
					if i%100 == 0 {
						progress("  %d of %d started (%s)", i, f.created, time.Since(t0).Round(time.Second))
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return f, err
		}
		f.starts = time.Since(t0)
		f.failedReplies = int(failed.Load())
		want := before + int64(f.created)
		var last int64
		if err := pollFor(ctx, 5*time.Minute, 50*time.Millisecond, func() (bool, error) {
			var err error
			last, err = b.broadcastPosts(ctx)
			return last >= want, err
		}); err != nil {
			return f, fmt.Errorf("announcements of %d new incidents: %d of %d posts in the broadcast channel: %w", f.created, last-before, f.created, err)
		}
		f.drained = time.Since(t0)
		if f.failedReplies > 0 {
			b.note(fmt.Sprintf("%d of the %d fill starts for size %d failed and were retried", f.failedReplies, f.created, size))
		}
	}
	f.open = b.countOpen(ctx)
	return f, nil
}

// broadcastPosts counts the posts in the broadcast channel.
func (b *bench) broadcastPosts(ctx context.Context) (int64, error) {
	ch, _, err := b.srv.Admin.Client.GetChannel(ctx, b.broadcast.Id)
	if err != nil {
		return 0, fmt.Errorf("broadcast channel: %w", err)
	}
	return ch.TotalMsgCount, nil
}

var (
	openRe  = regexp.MustCompile(`Open incidents \((\d+)\)`)
	totalRe = regexp.MustCompile(`newest \d+ of (\d+) open incidents`)
)

// countOpen asks the plugin how many incidents are open.
func (b *bench) countOpen(ctx context.Context) string {
	r, err := b.srv.ExecuteCommand(ctx, b.starter, b.srv.TownSquare.Id, "/incident list")
	if err != nil {
		return "failed: " + err.Error()
	}
	if m := totalRe.FindStringSubmatch(r.Text); m != nil { // more than it shows
		return m[1] + " open"
	}
	if m := openRe.FindStringSubmatch(r.Text); m != nil {
		return m[1] + " open"
	}
	if strings.Contains(r.Text, "No open incidents") {
		return "0 open"
	}
	return fmt.Sprintf("unexpected reply %.200q", r.Text)
}

// round measures one of each operation on a new incident, and resolves it.
func (b *bench) round(ctx context.Context, tag string, r *[numOps]time.Duration) error {
	srv, u, l1 := b.srv, b.starter, b.holders["l1"]
	t0 := time.Now()
	if _, err := srv.ExecuteCommand(ctx, u, srv.TownSquare.Id, "/echo latency "+tag); err != nil {
		return err
	}
	r[opEcho] = time.Since(t0)

	t0 = time.Now()
	id, name, reply, err := b.startIncident(ctx, u, "Latency probe "+tag+" --severity S3")
	if err != nil {
		return err
	}
	r[opStart] = time.Since(t0)
	if id == "" {
		return fmt.Errorf("start failed: %q", reply)
	}
	page, err := b.waitPageDM(ctx, id)
	if err != nil {
		return err
	}
	r[opPageDM] = time.Since(t0)

	ch, _, err := u.Client.GetChannelByName(ctx, name, srv.Team.Id, "")
	if err != nil {
		return fmt.Errorf("incident channel %q: %w", name, err)
	}
	card, err := b.cardID(ctx, ch.Id, id)
	if err != nil {
		return err
	}
	if err := b.waitHolders(ctx, ch.Id); err != nil {
		return err
	}

	t0 = time.Now()
	if _, err := srv.ClickButton(ctx, l1, page, "ackpage"); err != nil {
		return err
	}
	r[opAck] = time.Since(t0)
	if err := b.waitPostShows(ctx, l1, page, "Acknowledged by"); err != nil {
		return fmt.Errorf("page post after Acknowledge: %w", err)
	}

	t0 = time.Now()
	up, err := srv.ExecuteCommand(ctx, u, ch.Id, "/incident update probing latency "+tag)
	if err != nil {
		return err
	}
	r[opUpdate] = time.Since(t0)
	if !strings.Contains(up.Text, "posted") {
		return fmt.Errorf("update failed: %q", up.Text)
	}

	t0 = time.Now()
	if _, err := srv.SelectOption(ctx, u, card, "severity", "S2"); err != nil {
		return err
	}
	r[opClick] = time.Since(t0)
	if err := b.waitPostShows(ctx, u, card, "S2 ("); err != nil {
		return fmt.Errorf("card after the severity click: %w", err)
	}

	return b.expect(ctx, u, ch.Id, "/incident resolve latency measured", "resolved")
}

// waitPageDM polls the l1 holder's direct channel with the bot, quickly,
// for the page of incident id, and returns the post's id.
func (b *bench) waitPageDM(ctx context.Context, id string) (string, error) {
	l1 := b.holders["l1"]
	var found string
	err := pollFor(ctx, effectWait, pagePoll, func() (bool, error) {
		list, _, err := l1.Client.GetPostsForChannel(ctx, b.l1DM, 0, 10, "", false, false)
		if err != nil {
			return false, err
		}
		for _, pid := range list.Order {
			p := list.Posts[pid]
			pageID, _ := p.GetProp("page_id").(string)
			if pageID == "" || p.RootId != "" || b.seenPages[p.Id] {
				continue
			}
			if strings.HasPrefix(pageID, id+"-") || strings.Contains(harness.PostText(p), "#"+id) {
				b.seenPages[p.Id] = true
				found = p.Id
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("page DM of incident %s to @%s: %w", id, l1.Username, err)
	}
	return found, nil
}

// cardID waits for the incident's card in its channel.
func (b *bench) cardID(ctx context.Context, channelID, id string) (string, error) {
	var found string
	err := pollFor(ctx, effectWait, 20*time.Millisecond, func() (bool, error) {
		posts, err := b.srv.Posts(ctx, b.starter, channelID)
		if err != nil {
			return false, err
		}
		for _, p := range posts {
			if p.GetProp("incident_id") == id && len(p.Attachments()) == 1 {
				found = p.Id
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("card of incident %s: %w", id, err)
	}
	return found, nil
}

// waitHolders waits until all five role holders are in the incident's
// channel: the start staffed them from the rota.
func (b *bench) waitHolders(ctx context.Context, channelID string) error {
	var missing []string
	err := pollFor(ctx, effectWait, 20*time.Millisecond, func() (bool, error) {
		members, _, err := b.srv.Admin.Client.GetChannelMembers(ctx, channelID, 0, 100, "")
		if err != nil {
			return false, err
		}
		in := map[string]bool{}
		for _, m := range members {
			in[m.UserId] = true
		}
		missing = missing[:0]
		for _, role := range roles {
			if u := b.holders[role]; !in[u.Id] {
				missing = append(missing, role+" @"+u.Username)
			}
		}
		return len(missing) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("role holders in the incident channel, missing %v: %w", missing, err)
	}
	return nil
}

// waitPostShows polls, as u, until the post's text contains want.
func (b *bench) waitPostShows(ctx context.Context, u *harness.User, postID, want string) error {
	return pollFor(ctx, effectWait, 20*time.Millisecond, func() (bool, error) {
		p, _, err := u.Client.GetPost(ctx, postID, "")
		return err == nil && strings.Contains(harness.PostText(p), want), err
	})
}

func (b *bench) note(s string) {
	for _, n := range b.notes {
		if n == s {
			return
		}
	}
	b.notes = append(b.notes, s)
}

// pluginProblems summarises the plugin's warnings and errors in the server
// log: one line per distinct level and message, with how often it came.
func pluginProblems(logPath string) []string {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return []string{fmt.Sprintf("server log unreadable: %v", err)}
	}
	count := map[string]int{}
	var order []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, pluginID) {
			continue
		}
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		level, _ := e["level"].(string)
		if level != "warn" && level != "error" && level != "fatal" {
			continue
		}
		msg, _ := e["msg"].(string)
		if detail, ok := e["error"].(string); ok {
			msg += ": " + detail
		}
		key := level + " " + msg
		if count[key] == 0 {
			order = append(order, key)
		}
		count[key]++
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, fmt.Sprintf("%dx %.300s", count[k], k))
	}
	return out
}

// pollFor calls cond every interval until it reports true, for at most
// limit; an error from cond is kept and reported only if time runs out.
func pollFor(ctx context.Context, limit, interval time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("gave up after %s (last error: %w)", limit, lastErr)
			}
			return fmt.Errorf("gave up after %s", limit)
		case <-time.After(interval):
		}
	}
}

// pct returns the p-th percentile of sorted durations (nearest rank).
func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "latency: "+format+"\n", args...)
}

// startAndSettle starts an incident and waits until its follow-up is done
// (the page's DM, the card, the role holders and the announcement are
// there); it returns the incident's id.
func (b *bench) startAndSettle(ctx context.Context, tag string) (string, error) {
	before, err := b.broadcastPosts(ctx)
	if err != nil {
		return "", err
	}
	id, name, reply, err := b.startIncident(ctx, b.starter, "Statement count "+tag+" --severity S3")
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", fmt.Errorf("start failed: %q", reply)
	}
	if _, err := b.waitPageDM(ctx, id); err != nil {
		return id, err
	}
	ch, _, err := b.starter.Client.GetChannelByName(ctx, name, b.srv.Team.Id, "")
	if err != nil {
		return id, fmt.Errorf("incident channel %q: %w", name, err)
	}
	if _, err := b.cardID(ctx, ch.Id, id); err != nil {
		return id, err
	}
	if err := b.waitHolders(ctx, ch.Id); err != nil {
		return id, err
	}
	return id, pollFor(ctx, 10*time.Second, 5*time.Millisecond, func() (bool, error) {
		n, err := b.broadcastPosts(ctx)
		return n > before, err
	})
}
