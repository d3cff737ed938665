// Command latency measures, on a real Mattermost server started for the
// purpose, how long users wait for the incident bot: /incident start,
// /incident update, a card button click and a page's Acknowledge click,
// beside the built-in /echo in the same run as the server's own baseline.
// It prints median and p99.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

const pluginID = "io.incidentbot.mattermost"

func main() {
	n := flag.Int("n", 200, "calls per measured operation")
	bundle := flag.String("bundle", "", "plugin bundle (default: build with make dist-host)")
	flag.Parse()
	if err := run(*n, *bundle); err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
}

func run(n int, bundle string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if bundle == "" {
		var err error
		if bundle, err = buildBundle(ctx); err != nil {
			return err
		}
	}
	srv, err := harness.Start(ctx, harness.Options{Users: 2})
	if err != nil {
		return err
	}
	defer srv.Stop()
	if err := srv.InstallPlugin(ctx, bundle, pluginID); err != nil {
		return err
	}
	u := srv.Users[0]
	bc, err := srv.NewChannel(ctx, "incidents", false, srv.Users...)
	if err != nil {
		return err
	}
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": bc.Id}); err != nil {
		return err
	}

	// The page target acknowledges in their direct channel with the bot.
	target := srv.Users[1]
	botUser, _, err := srv.Admin.Client.GetUserByUsername(ctx, "incident", "")
	if err != nil {
		return fmt.Errorf("find bot user: %w", err)
	}
	targetDM, err := srv.DirectChannel(ctx, target, &harness.User{User: botUser})
	if err != nil {
		return err
	}
	acked := map[string]bool{}

	var echo, start, update, click, ack []time.Duration
	timeIt := func(into *[]time.Duration, f func() error) error {
		t0 := time.Now()
		if err := f(); err != nil {
			return err
		}
		*into = append(*into, time.Since(t0))
		return nil
	}
	// One warm-up round so first-call costs (connections, caches) are not measured.
	ids := regexp.MustCompile(`Incident #([a-z0-9]+) started`)
	var lastChannel, lastCard string
	for i := -1; i < n; i++ {
		var resp *model.CommandResponse
		steps := []struct {
			into *[]time.Duration
			f    func() error
		}{
			{&echo, func() error {
				_, err := srv.ExecuteCommand(ctx, u, srv.TownSquare.Id, fmt.Sprintf("/echo latency %d", i))
				return err
			}},
			{&start, func() error {
				resp, err = srv.ExecuteCommand(ctx, u, srv.TownSquare.Id, fmt.Sprintf("/incident start Latency probe %d --severity S3", i))
				if err == nil && !ids.MatchString(resp.Text) {
					err = fmt.Errorf("start failed: %s", resp.Text)
				}
				return err
			}},
		}
		for _, s := range steps {
			if err := timeIt(s.into, s.f); err != nil {
				return err
			}
		}
		name := resp.GotoLocation[strings.LastIndex(resp.GotoLocation, "/")+1:]
		ch, _, err := u.Client.GetChannelByName(ctx, name, srv.Team.Id, "")
		if err != nil {
			return err
		}
		lastChannel = ch.Id
		if lastCard, err = cardID(ctx, srv, u, lastChannel); err != nil {
			return err
		}
		if err := timeIt(&update, func() error {
			r, err := srv.ExecuteCommand(ctx, u, lastChannel, "/incident update probing latency")
			if err == nil && !strings.Contains(r.Text, "posted") {
				err = fmt.Errorf("update failed: %s", r.Text)
			}
			return err
		}); err != nil {
			return err
		}
		if err := timeIt(&click, func() error {
			_, err := srv.SelectOption(ctx, u, lastCard, "severity", "S2")
			return err
		}); err != nil {
			return err
		}
		if r, err := srv.ExecuteCommand(ctx, u, lastChannel, "/incident page @"+target.Username+" probing latency"); err != nil || !strings.Contains(r.Text, "Paged") {
			return fmt.Errorf("page failed: %v %v", r, err)
		}
		pagePost, err := newPagePost(ctx, srv, target, targetDM.Id, acked)
		if err != nil {
			return err
		}
		if err := timeIt(&ack, func() error {
			_, err := srv.ClickButton(ctx, target, pagePost, "ackpage")
			return err
		}); err != nil {
			return err
		}
		if i == -1 {
			echo, start, update, click, ack = nil, nil, nil, nil, nil
		}
	}
	fmt.Printf("Real Mattermost 6.7.2 on this machine, %d sequential calls each (ms)\n\n", n)
	fmt.Printf("| operation | median | p99 | max |\n|---|---|---|---|\n")
	for _, r := range []struct {
		name string
		d    []time.Duration
	}{{"/echo (built-in baseline)", echo}, {"/incident start", start}, {"/incident update", update}, {"card click (change severity)", click}, {"page Acknowledge click", ack}} {
		sort.Slice(r.d, func(i, j int) bool { return r.d[i] < r.d[j] })
		fmt.Printf("| %s | %.1f | %.1f | %.1f |\n", r.name, ms(pct(r.d, 50)), ms(pct(r.d, 99)), ms(r.d[len(r.d)-1]))
	}
	return nil
}

func cardID(ctx context.Context, srv *harness.Server, u *harness.User, channelID string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		posts, err := srv.Posts(ctx, u, channelID)
		if err != nil {
			return "", err
		}
		for _, p := range posts {
			if p.GetProp("incident_id") != nil && len(p.Attachments()) == 1 {
				return p.Id, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("no card in channel %s", channelID)
}

// newPagePost waits for a page post in the target's direct channel that is
// not in seen, marks it seen and returns its id.
func newPagePost(ctx context.Context, srv *harness.Server, target *harness.User, channelID string, seen map[string]bool) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		posts, err := srv.Posts(ctx, target, channelID)
		if err != nil {
			return "", err
		}
		for _, p := range posts {
			if id, _ := p.GetProp("page_id").(string); id != "" && p.RootId == "" && !seen[p.Id] {
				seen[p.Id] = true
				return p.Id, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("no new page post in channel %s", channelID)
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

func buildBundle(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "dist-host")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("make dist-host: %w\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(line, "bundle: "); ok {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("make dist-host printed no bundle path:\n%s", out)
}
