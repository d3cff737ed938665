// Command soak loads a real Mattermost server the way a team does on its
// worst day, and reports what users wait for and what the store pays:
//
//   - mixed: for -duration, 2 users start S3 incidents (-start-rate a second
//     in all, 4 by default: the pace the measurements saw), 3 post
//     status updates into 6 open incidents (-update-rate, 27 a second), the
//     paged first line acknowledges every page the moment its direct message
//     arrives, and the starters press Post update on each new card the
//     moment it appears;
//     beside them /echo measures the server's own latency under the same
//     load. Reported: median and p99 of each call, refusals ("try again"),
//     errors, and the time from an accepted update to its post in the
//     broadcast channel (the worker posts it after the update's timeline
//     event has landed); afterwards every accepted update is looked for on
//     its incident's timeline.
//   - mixed-max: the same with every user's next call the moment the last
//     is answered: what the server gets through, at what latency.
//   - burst: 3 users post 40 updates each into one incident at once.
//   - starts: 15 starts back to back right after 10 and 300 open incidents
//     were created (their follow-up work still running).
//   - storm: Alertmanager sends 40 alert groups (and -storm-groups 160)
//     of 10 notifications each within about 28 s, two senders racing on
//     each group's first; reported: webhook latency, alert to first page
//     post, and that each group opened one incident with one page and every
//     repeat attached.
//   - kv: PostgreSQL's statement log at 10 and -kv-open open incidents: the
//     idle rate at rest, a 10 s window 3 minutes after the open incidents
//     were created, and the statements one start causes over the 3 minutes
//     after it (less the idle rate).
//
// Each scenario runs on a fresh server. -bundles takes several bundles
// (before and after a change); the report puts them side by side.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

const pluginID = "io.incidentbot.mattermost"

func main() {
	var o options
	flag.StringVar(&o.bundles, "bundles", "", "comma separated plugin bundles to compare (default: build this checkout with make dist-host)")
	flag.StringVar(&o.scenarios, "scenarios", "mixed,burst,starts,storm,kv", "comma separated scenarios to run: mixed, mixed-max, burst, starts, storm, kv")
	flag.DurationVar(&o.duration, "duration", time.Minute, "how long the mixed load runs")
	flag.Float64Var(&o.startRate, "start-rate", 4, "starts a second the mixed load offers, all starters together (0: each starter's next start as soon as the last is answered)")
	flag.Float64Var(&o.updateRate, "update-rate", 27, "status updates a second the mixed load offers, all updaters together (0: as fast as answered)")
	flag.IntVar(&o.stormGroups, "storm-groups", 160, "alert groups of the larger storm (the first storm has 40); 0 skips it")
	flag.BoolVar(&stormMail, "storm-mail", true, "in the storms, the first line's pages also go by email (through an SMTP sink), and the time to the mail is measured")
	flag.IntVar(&o.kvOpen, "kv-open", 1000, "open incidents of the larger KV measurement (the smaller has 10)")
	flag.IntVar(&o.startsOpen, "starts-open", 300, "open incidents of the larger back-to-back starts measurement (the smaller has 10)")
	timeout := flag.Duration("timeout", 2*time.Hour, "give up after this long")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type options struct {
	bundles, scenarios    string
	duration              time.Duration
	stormGroups, kvOpen   int
	startsOpen            int
	startRate, updateRate float64
}

// scenario runs on a fresh server with one bundle and adds its lines to the
// report under its heading.
type scenario struct {
	name  string
	title string
	run   func(ctx context.Context, b *bench, r *report) error
}

func scenarios(o options) []scenario {
	return []scenario{
		{"mixed", fmt.Sprintf("Mixed load for %s: 2 starting S3 incidents (%s a second in all), 3 updating 6 open incidents (%s a second), 1 acknowledging pages",
			o.duration, rateText(o.startRate), rateText(o.updateRate)),
			func(ctx context.Context, b *bench, r *report) error {
				return b.mixed(ctx, r, o.duration, rates{o.startRate, o.updateRate})
			}},
		{"mixed-max", fmt.Sprintf("Mixed load for %s as fast as answers come: 2 starting S3 incidents, 3 updating 6 open incidents, 1 acknowledging pages", o.duration),
			func(ctx context.Context, b *bench, r *report) error { return b.mixed(ctx, r, o.duration, rates{}) }},
		{"burst", "3 people updating one incident at once, 40 updates each",
			func(ctx context.Context, b *bench, r *report) error { return b.burst(ctx, r, 3, 40) }},
		{"starts", fmt.Sprintf("15 starts back to back right after 10 and %d open incidents were created", o.startsOpen),
			func(ctx context.Context, b *bench, r *report) error {
				return b.startsAfterFill(ctx, r, []int{10, o.startsOpen})
			}},
		{"storm", fmt.Sprintf("Alert storms: 40 and %d alert groups × 10 notifications in about 28 s, two senders racing on each first", o.stormGroups),
			func(ctx context.Context, b *bench, r *report) error {
				return b.storms(ctx, r, []int{40, o.stormGroups})
			}},
		{"kv", fmt.Sprintf("KV statements (PostgreSQL's statement log) at 10 and %d open incidents", o.kvOpen),
			func(ctx context.Context, b *bench, r *report) error { return b.kv(ctx, r, []int{10, o.kvOpen}) }},
	}
}

func run(ctx context.Context, o options) error {
	began := time.Now()
	var bundles []string
	if o.bundles == "" {
		b, err := harness.BuildBundle(ctx)
		if err != nil {
			return err
		}
		bundles = []string{b}
	} else {
		for _, b := range strings.Split(o.bundles, ",") {
			abs, err := filepath.Abs(strings.TrimSpace(b))
			if err != nil {
				return err
			}
			if _, err := os.Stat(abs); err != nil {
				return fmt.Errorf("-bundles: %w", err)
			}
			bundles = append(bundles, abs)
		}
	}
	want := map[string]bool{}
	for _, s := range strings.Split(o.scenarios, ",") {
		want[strings.TrimSpace(s)] = true
	}
	rep := newReport(bundles)
	ran := 0
	for _, sc := range scenarios(o) {
		if !want[sc.name] {
			continue
		}
		ran++
		rep.section(sc.title)
		for i, bundle := range bundles {
			progress("%s with %s", sc.name, filepath.Base(bundle))
			if err := runOn(ctx, bundle, func(b *bench) error {
				rep.bundle = i
				return sc.run(ctx, b, rep)
			}); err != nil {
				return fmt.Errorf("%s with %s: %w", sc.name, filepath.Base(bundle), err)
			}
		}
	}
	if ran == 0 {
		return errors.New("-scenarios: none of mixed, mixed-max, burst, starts, storm, kv")
	}
	rep.print(os.Stdout)
	fmt.Printf("\nReal Mattermost %s on this machine; total run time %s.\n", harness.ServerVersion, time.Since(began).Round(time.Second))
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "soak %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
