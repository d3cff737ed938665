// Command archivebench measures the incident archive on real Mattermost
// servers started for the purpose: the export of N incidents with E events
// each (default 1,000 × 100) from one server, and their import into a
// second server with its own database, where the same users, team and
// channels exist under other ids. It also measures /incident start while
// the export runs, beside the same measurement before it, to show what an
// export costs live incidents.
//
// The history is written straight into the first server's plugin KV table
// (the plugin's own store code encodes it, in memory, first): starting
// 1,000 incidents and adding 100,000 events through commands would take
// most of an hour and measure nothing this tool is for.
//
//	go run ./e2e/cmd/archivebench [-incidents 1000] [-events 100] [-n 30]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

const pluginID = "io.incidentbot.mattermost"

func main() {
	incidents := flag.Int("incidents", 1000, "incidents in the archive")
	events := flag.Int("events", 100, "timeline events per incident")
	n := flag.Int("n", 30, "/incident start calls measured before the export")
	pace := flag.Duration("pace", time.Second, "one /incident start every pace, before and during the export: an on-call team at work")
	bundle := flag.String("bundle", "", "plugin bundle (default: build with make dist-host)")
	timeout := flag.Duration("timeout", 40*time.Minute, "give up after this long")
	out := flag.String("out", "", "also write the exported archive to this file (for incident-archive)")
	flag.Parse()
	if *incidents < 1 || *events < 1 || *n < 1 {
		fmt.Fprintln(os.Stderr, "archivebench: -incidents, -events and -n must be at least 1")
		os.Exit(2)
	}
	if err := run(*incidents, *events, *n, *pace, *bundle, *timeout, *out); err != nil {
		fmt.Fprintln(os.Stderr, "archivebench:", err)
		os.Exit(1)
	}
}

// figures are what one run measured.
type figures struct {
	seeded                     time.Duration
	export, preview, importing time.Duration
	exportLog, importLog       string // the plugin's own "took" of each
	bytes                      int
	archived                   int // incidents in the archive: the seeded and the timed starts
	before, during             []time.Duration
	report                     string
}

func run(incidents, events, n int, pace time.Duration, bundle string, timeout time.Duration, out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if bundle == "" {
		var err error
		if bundle, err = harness.BuildBundle(ctx); err != nil {
			return err
		}
	}
	opts := harness.Options{Users: 2, ConfigPatch: map[string]map[string]any{
		"TeamSettings": {"MaxChannelsPerTeam": 1000000},
		"FileSettings": {"MaxFileSize": 1 << 30},
	}}
	a, err := harness.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer a.Stop()
	if err := a.InstallPlugin(ctx, bundle, pluginID); err != nil {
		return err
	}
	var f figures
	began := time.Now()
	channels, err := makeChannels(ctx, a, incidents, "")
	if err != nil {
		return err
	}
	if err := seed(ctx, a, channels, events); err != nil {
		return err
	}
	f.seeded = time.Since(began)
	progress("%d incidents of %d events seeded in %s", incidents, events, f.seeded.Round(time.Second))
	if err := measureExport(ctx, a, n, pace, &f); err != nil {
		return err
	}
	progress("exported %d bytes in %s", f.bytes, f.export.Round(time.Millisecond))
	if out != "" {
		if err := os.WriteFile(out, archiveData, 0o600); err != nil {
			return err
		}
	}

	b, err := harness.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer b.Stop()
	if err := b.InstallPlugin(ctx, bundle, pluginID); err != nil {
		return err
	}
	names := make([]string, len(channels))
	for i, ch := range channels {
		names[i] = ch.name
	}
	if _, err := makeChannels(ctx, b, incidents, strings.Join(names, "\n")); err != nil {
		return err
	}
	if err := measureImport(ctx, b, &f); err != nil {
		return err
	}
	print(incidents, events, pace, f)
	return nil
}

func print(incidents, events int, pace time.Duration, f figures) {
	fmt.Printf("\n#### Incident archive, %d incidents × %d events, real Mattermost 6.7.2\n\n", incidents, events)
	fmt.Printf("| step | time | plugin log says |\n|---|---|---|\n")
	fmt.Printf("| export: command → file in the admin's DM | %s | %s |\n", f.export.Round(time.Millisecond), f.exportLog)
	fmt.Printf("| import preview: file sent → preview posted | %s | |\n", f.preview.Round(time.Millisecond))
	fmt.Printf("| import: Import pressed → report posted | %s | %s |\n", f.importing.Round(time.Millisecond), f.importLog)
	fmt.Printf("\nArchive: %d incidents (the %d seeded and the timed starts), %.1f MB.\n\n", f.archived, incidents, float64(f.bytes)/(1<<20))
	fmt.Printf("| `/incident start` (S4), one every %s | n | median | p99 | max |\n|---|---|---|---|---|\n", pace)
	row := func(what string, ds []time.Duration) {
		if len(ds) == 0 {
			fmt.Printf("| %s | 0 | - | - | - |\n", what)
			return
		}
		s := append([]time.Duration(nil), ds...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		fmt.Printf("| %s | %d | %.1f ms | %.1f ms | %.1f ms |\n", what, len(s), ms(pct(s, 50)), ms(pct(s, 99)), ms(s[len(s)-1]))
	}
	row("before the export", f.before)
	row("while the export runs", f.during)
	fmt.Printf("\nImport report:\n\n%s\n", f.report)
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "archivebench: "+format+"\n", args...)
}
