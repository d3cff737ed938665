// Package browser_test proves the plugin's pages in a real browser: a
// headless Chromium (Debian's chromium package) driven with chromedp signs
// in through the plugin's sign-in page on a real Mattermost 6.7.2 server
// and reads the rendered incident list, incident, stats and rota pages.
// Screenshots of every page land in INCIDENT_BOT_ARTEFACTS (else a temp
// dir; the path is logged).
//
// Under CI=true a missing browser fails the package; elsewhere the tests
// skip and say why.
package browser_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

const pluginID = "io.incidentbot.mattermost"

var (
	srv *harness.Server
	// chromium is the browser's path; empty when skipReason says why not.
	chromium   string
	skipReason string
)

func TestMain(m *testing.M) {
	flag.Parse()
	ci := os.Getenv("CI") == "true"
	if testing.Short() && !ci {
		fmt.Println("browser tests skipped in -short mode")
		os.Exit(0)
	}
	var err error
	if chromium, err = findChromium(); err != nil {
		if ci {
			fmt.Fprintln(os.Stderr, "browser tests: CI=true and", err)
			os.Exit(1)
		}
		skipReason = err.Error() + " (outside CI the browser tests skip; `apt-get install chromium` to run them)"
		fmt.Println("browser tests:", skipReason)
		os.Exit(m.Run()) // every test skips with the reason
	}
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// findChromium finds the browser: INCIDENT_BOT_CHROMIUM, else Debian's
// /usr/bin/chromium, else chromium or chromium-browser on PATH.
func findChromium() (string, error) {
	if p := os.Getenv("INCIDENT_BOT_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("INCIDENT_BOT_CHROMIUM: %w", err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium found (/usr/bin/chromium, PATH)")
}

func run(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bundle, err := harness.BuildBundle(ctx)
	if err != nil {
		return 1, err
	}
	if srv, err = harness.Start(ctx, harness.Options{Users: 4}); err != nil {
		return 1, err
	}
	defer srv.Stop()
	if err := srv.InstallPlugin(ctx, bundle, pluginID); err != nil {
		return 1, err
	}
	if err := setUp(ctx); err != nil {
		return 1, err
	}
	return m.Run(), nil
}
