package browser_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/incidentbot/mattermost-incident-bot/e2e/seed"
)

// The leads' pages over a year's worth of incidents: 1,000, then 10,000
// resolved incidents written into the plugin's KV table in the months
// before this one (seed), the stats of those months computed by the
// plugin itself (the backfill a month without stored figures gets), then
// each page loaded in Chromium a few times: the list and the stats with
// their default windows, as a system admin, who may see every incident.
// The figures are logged (time to first byte and to the load event, from
// Navigation Timing; the median of five loads); the test asserts what the
// pages show.
func TestPagesAtTenThousandIncidents(t *testing.T) {
	needBrowser(t)
	if testing.Short() {
		t.Skip("seeds 10,000 incidents")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	now := time.Now().UTC()
	// The months before this one: this month's index holds the incidents
	// the other tests start.
	to := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Add(-time.Hour)
	from := now.AddDate(0, 0, -85)
	prefix := "k" + strconv.FormatInt(now.UnixNano()%(36*36*36*36*36), 36)
	h := seed.New(srv, pluginID)
	people := []string{srv.Users[0].Id, srv.Users[1].Id, srv.Users[3].Id, srv.Admin.Id}
	var figures []string
	seeded := 0
	for _, step := range []struct {
		tag string
		n   int
	}{{"a", 1000}, {"b", 9000}} {
		began := time.Now()
		if err := h.Add(ctx, prefix+step.tag, step.n, from, to, people); err != nil {
			t.Fatal(err)
		}
		if err := h.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		took := time.Since(began)
		seeded += step.n
		began = time.Now()
		total := statsCounted(t, ctx, seeded-1)
		t.Logf("%d seeded in %s; the stats count %d incidents once their months' figures were computed (%s)", step.n, took.Round(time.Millisecond), total, time.Since(began).Round(time.Millisecond))

		bctx := browse(t)
		signIn(t, bctx, srv.Admin)
		list := loads(t, bctx, "/incidents")
		if n := count(t, bctx, "table#incidents tr[data-incident]"); n != 50 || count(t, bctx, "a#next") != 1 {
			t.Errorf("at %d incidents the list shows %d rows, want 50 and a link to older ones", total, n)
		}
		stats := loads(t, bctx, "/stats")
		shot(t, bctx, fmt.Sprintf("stats-%d", total))
		figures = append(figures, fmt.Sprintf("| %d | %s | %s |", total, list, stats))
	}
	t.Logf("pages over the incidents stored (median of 5 loads in Chromium, as a system admin; first byte / load event):\n| incidents | incidents page | stats page |\n|---|---|---|\n%s", strings.Join(figures, "\n"))
}

var countedRe = regexp.MustCompile(`data-incidents="(\d+)"`)

// statsCounted waits until the stats page counts more than least
// incidents and lists no month as pending, and returns the count.
func statsCounted(t *testing.T, ctx context.Context, least int) int {
	t.Helper()
	var n int
	err := poll(ctx, 5*time.Minute, func() (bool, error) {
		code, body, err := get(ctx, srv.Admin, "/stats")
		if err != nil || code != 200 {
			return false, fmt.Errorf("stats: %d %v", code, err)
		}
		m := countedRe.FindStringSubmatch(body)
		if m == nil {
			return false, fmt.Errorf("the stats page has no count")
		}
		n, _ = strconv.Atoi(m[1])
		return n > least && !strings.Contains(body, `id="pending"`), nil
	})
	if err != nil {
		t.Fatalf("the stats of the seeded months: %v (last count %d)", err, n)
	}
	return n
}

// loads opens path five times and returns the median time to first byte
// and to the load event, as "12 ms / 95 ms".
func loads(t *testing.T, ctx context.Context, path string) string {
	t.Helper()
	var ttfb, load []float64
	for range 5 {
		if code := openPage(t, ctx, path); code != 200 {
			t.Fatalf("%s: status %d", path, code)
		}
		var nt []float64
		err := poll(ctx, 10*time.Second, func() (bool, error) {
			err := chromedp.Run(ctx, chromedp.Evaluate(`(() => { const n = performance.getEntriesByType("navigation")[0];
				return n && n.loadEventEnd > 0 ? [n.responseStart - n.requestStart, n.loadEventEnd - n.startTime] : []; })()`, &nt))
			return len(nt) == 2, err
		})
		if err != nil {
			t.Fatalf("%s: navigation timing: %v", path, err)
		}
		ttfb, load = append(ttfb, nt[0]), append(load, nt[1])
	}
	return fmt.Sprintf("%.0f ms / %.0f ms", median(ttfb), median(load))
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
