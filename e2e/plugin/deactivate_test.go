package plugin_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRedeployExitsGracefully re-uploads the bundle (forced, as an admin
// upgrading does) and disables and enables the plugin, again and again,
// each time right after an incident was started, so that its follow-up
// work (card, announcement, page) and the tick are running when the server
// deactivates the plugin. On every deactivation the server asks the plugin
// process to quit (go-plugin Control.Quit) and waits up to 2 seconds for it
// to exit; the server log must never say "plugin failed to exit
// gracefully" (nor "error closing client during Kill", which precedes it
// when the process exits before its reply to Quit has left it: 2 to 7 of
// 26 deactivations before server/exit.go), and a disable must stay well
// within those 2 seconds.
func TestRedeployExitsGracefully(t *testing.T) {
	const cycles = 26
	ctx := ctxT(t)
	alice := srv.Users[0]
	offset := logSize(t)

	var uploads, disables []time.Duration
	var incidents []started
	t.Cleanup(func() {
		// Leave the plugin running and no incident paging for the tests
		// that follow.
		if err := srv.EnablePlugin(ctx, pluginID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, s := range incidents {
			if _, err := srv.ExecuteCommand(ctx, alice, s.Channel.Id, "/incident resolve Redeploy test over"); err != nil {
				t.Logf("cleanup: resolve #%s: %v", s.ID, err)
			}
		}
	})
	perCycle := make([]int, cycles)
	for i := range cycles {
		before := logSize(t)
		// Follow-up work in flight: the command returns once the incident
		// is stored; the card, announcement and page follow in the
		// background, while the plugin is being deactivated.
		incidents = append(incidents, startNoWait(t, alice, fmt.Sprintf("Redeploy %d --severity S2", i)))
		if i%2 == 0 {
			f, err := os.Open(bundle)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			_, _, err = srv.Admin.Client.UploadPluginForced(ctx, f)
			uploads = append(uploads, time.Since(t0))
			f.Close()
			if err != nil {
				t.Fatalf("cycle %d: forced upload: %v", i, err)
			}
		} else {
			t0 := time.Now()
			if _, err := srv.Admin.Client.DisablePlugin(ctx, pluginID); err != nil {
				t.Fatalf("cycle %d: disable: %v", i, err)
			}
			disables = append(disables, time.Since(t0))
		}
		if err := srv.EnablePlugin(ctx, pluginID); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		perCycle[i] = countGraceful(exitFailures(t, before))
	}
	// The server's logger may write the last lines a moment later.
	time.Sleep(300 * time.Millisecond)
	failures := exitFailures(t, offset)

	t.Logf("%d cycles: forced upload (deactivate, install, activate) %s; disable %s",
		cycles, durations(uploads), durations(disables))
	t.Logf("'failed to exit gracefully' per cycle: %v", perCycle)
	if len(failures) > 0 {
		t.Errorf("%d of %d deactivations: the plugin process did not exit gracefully:\n%s",
			countGraceful(failures), cycles, strings.Join(failures, "\n"))
	}
	for _, d := range disables {
		if d > time.Second {
			t.Errorf("a disable took %s; the server kills a plugin that has not exited 2 s after it was asked to quit", d)
		}
	}
	// The follow-up work the deactivations cut short is durable: every
	// incident still gets its card, from this process or the next.
	for _, s := range incidents {
		card(t, alice, s)
	}
}

// logSize is the server log's current length: the offset to read new
// lines from.
func logSize(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(srv.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// exitFailures returns the server log lines since offset that tell of the
// plugin not exiting gracefully, with the go-plugin line before each
// (why the server gave up on a graceful exit).
func exitFailures(t *testing.T, offset int64) []string {
	t.Helper()
	b, err := os.ReadFile(srv.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) < offset {
		offset = 0
	}
	var out []string
	for _, line := range strings.Split(string(b[offset:]), "\n") {
		if !strings.Contains(line, pluginID) {
			continue
		}
		if strings.Contains(line, "failed to exit gracefully") || strings.Contains(line, "error closing client during Kill") ||
			strings.Contains(line, "OnDeactivate") {
			out = append(out, line)
		}
	}
	return out
}

// countGraceful counts the "failed to exit gracefully" lines among lines.
func countGraceful(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, "failed to exit gracefully") {
			n++
		}
	}
	return n
}

// durations summarises ds: median and maximum.
func durations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("median %s, max %s (n=%d)", s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), len(s))
}
