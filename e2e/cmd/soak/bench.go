package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// roles are the rota's role codes, each held by a different user.
var roles = []string{"im", "l1", "l2", "l3", "rm"}

// alertToken authenticates the storm's Alertmanager.
const alertToken = "soak-alertmanager-token-7d2e1f"

// bench is a running server with the plugin, a rota of five distinct
// people, a broadcast channel and the people who load it.
type bench struct {
	srv       *harness.Server
	holders   map[string]*harness.User
	starters  []*harness.User
	updaters  []*harness.User
	echo      *harness.User
	broadcast *model.Channel
	botID     string
	seq       atomic.Int64
}

// runOn starts a server, installs bundle, sets the bench up and runs fn.
func runOn(ctx context.Context, bundle string, fn func(*bench) error) error {
	srv, err := harness.Start(ctx, harness.Options{
		Users: len(roles) + 6,
		// Every incident has its own channel: allow far more than the
		// default 2,000 channels per team.
		ConfigPatch: map[string]map[string]any{"TeamSettings": {"MaxChannelsPerTeam": 1000000}},
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	if err := srv.InstallPlugin(ctx, bundle, pluginID); err != nil {
		return err
	}
	b := &bench{srv: srv, holders: map[string]*harness.User{}}
	for i, role := range roles {
		b.holders[role] = srv.Users[i]
	}
	n := len(roles)
	b.starters = srv.Users[n : n+2]
	b.updaters = srv.Users[n+2 : n+5]
	b.echo = srv.Users[n+5]
	if b.broadcast, err = srv.NewChannel(ctx, "incidents", false, srv.Users...); err != nil {
		return err
	}
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{
		"BroadcastChannelID": b.broadcast.Id,
		// S3 is paged, on timeouts far longer than any run: the load is
		// the pages themselves, not their escalations.
		"EscalationTimeouts": "S1=30m, S2=30m, S3=30m, S4=off",
		"AlertmanagerToken":  alertToken,
	}); err != nil {
		return err
	}
	rotaChannel, err := srv.NewChannel(ctx, "rota", false, srv.Users...)
	if err != nil {
		return err
	}
	for _, role := range roles {
		if _, err := b.expect(ctx, srv.Admin, rotaChannel.Id, "/incident rota set "+role+" @"+b.holders[role].Username, "rota set"); err != nil {
			return err
		}
	}
	if _, err := b.expect(ctx, srv.Admin, rotaChannel.Id, "/incident rota channel", "now the rota channel"); err != nil {
		return err
	}
	bot, _, err := srv.Admin.Client.GetUserByUsername(ctx, "incident", "")
	if err != nil {
		return fmt.Errorf("find the bot: %w", err)
	}
	b.botID = bot.Id
	return fn(b)
}

// command runs command as u and returns the reply and how long it took.
func (b *bench) command(ctx context.Context, u *harness.User, channelID, command string) (*model.CommandResponse, time.Duration, error) {
	t0 := time.Now()
	r, err := b.srv.ExecuteCommand(ctx, u, channelID, command)
	return r, time.Since(t0), err
}

// expect runs command as u and fails unless the reply contains want.
func (b *bench) expect(ctx context.Context, u *harness.User, channelID, command, want string) (*model.CommandResponse, error) {
	r, _, err := b.command(ctx, u, channelID, command)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	if !strings.Contains(r.Text, want) {
		return nil, fmt.Errorf("%s: reply %q does not contain %q", command, r.Text, want)
	}
	return r, nil
}

var startedRe = regexp.MustCompile(`Incident #([a-z0-9]+) started`)

// started is an incident a start opened.
type started struct {
	id, channel string // channel: its name
}

// start runs /incident start as u; a reply that is no start comes back as
// an error with the reply.
func (b *bench) start(ctx context.Context, u *harness.User, args string) (started, time.Duration, error) {
	r, took, err := b.command(ctx, u, b.srv.TownSquare.Id, "/incident start "+args)
	if err != nil {
		return started{}, took, err
	}
	m := startedRe.FindStringSubmatch(r.Text)
	if m == nil || r.GotoLocation == "" {
		return started{}, took, fmt.Errorf("start: reply %q", r.Text)
	}
	return started{id: m[1], channel: r.GotoLocation[strings.LastIndex(r.GotoLocation, "/")+1:]}, took, nil
}

// channelID looks up the incident channel's id.
func (b *bench) channelID(ctx context.Context, s started) (string, error) {
	ch, _, err := b.srv.Admin.Client.GetChannelByName(ctx, s.channel, b.srv.Team.Id, "")
	if err != nil {
		return "", fmt.Errorf("incident channel %s: %w", s.channel, err)
	}
	return ch.Id, nil
}

// fill starts n S4 incidents (not paged) with workers concurrent starters
// and returns them.
func (b *bench) fill(ctx context.Context, n, workers int, tag string) ([]started, error) {
	var (
		mu   sync.Mutex
		out  []started
		next atomic.Int64
		errs = make(chan error, workers)
		wg   sync.WaitGroup
	)
	t0 := time.Now()
	for w := range workers {
		u := b.starters[w%len(b.starters)]
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > n || ctx.Err() != nil {
					return
				}
				var s started
				var err error
				for try := 1; try <= 5; try++ {
					if s, _, err = b.start(ctx, u, fmt.Sprintf("%s open incident %d --severity S4", tag, i)); err == nil {
						break
					}
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				out = append(out, s)
				mu.Unlock()
				if i%100 == 0 {
					progress("  %d of %d started (%s)", i, n, time.Since(t0).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return out, err
	}
	return out, nil
}

// waitFor polls cond every interval until it holds, for at most limit.
func waitFor(ctx context.Context, limit, interval time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("gave up after %s: %w", limit, last)
			}
			return fmt.Errorf("gave up after %s", limit)
		case <-time.After(interval):
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// isPage reports whether p is a page post (a direct message or a rota
// channel post with an Acknowledge button) of incident id ("" = any).
func isPage(p *model.Post, id string) bool {
	pageID, _ := p.GetProp("page_id").(string)
	return pageID != "" && p.RootId == "" && (id == "" || strings.HasPrefix(pageID, id+"-"))
}

// isCard reports whether p is the card of an incident, and which.
func isCard(p *model.Post) (string, bool) {
	id, _ := p.GetProp("incident_id").(string)
	if id == "" || p.RootId != "" {
		return "", false
	}
	for _, a := range p.Attachments() {
		for _, act := range a.Actions {
			if act.Id == "update" {
				return id, true
			}
		}
	}
	return "", false
}

// problems summarises the plugin's warnings and errors in the server log
// after offset: one line per distinct message, with how often it came.
func (b *bench) problems(after int64) []string {
	lines := harness.LogLinesAfter(b.srv.LogPath, after)
	count := map[string]int{}
	var order []string
	for _, e := range lines {
		if e["plugin_id"] != pluginID {
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
		out = append(out, fmt.Sprintf("%dx %.240s", count[k], k))
	}
	return out
}
