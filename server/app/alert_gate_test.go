package app

import (
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/noise"
)

// gateEnv is a cost env whose settings hold back alerts by ths.
func gateEnv(t *testing.T, ths string) *costEnv {
	t.Helper()
	e := newCostEnv(t)
	list, err := noise.Parse(ths)
	if err != nil {
		t.Fatal(err)
	}
	base := e.app.settings
	e.app.settings = func() Settings { s := base(); s.Alerts.Thresholds = list; return s }
	return e
}

func (e *costEnv) ingest(t *testing.T, status, fp string) AlertResult {
	t.Helper()
	res, err := e.app.IngestAlerts(ctx, alertReq(t, status, fp))
	if err != nil {
		t.Fatal(err)
	}
	e.runHeld()
	return res
}

func (e *costEnv) openCount(t *testing.T) int {
	t.Helper()
	list, _, err := e.app.ListActive(ctx, "root", 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func (e *costEnv) advance(d time.Duration) {
	e.clk.set(e.clk.now().Add(d))
	e.app.Tick(ctx)
	e.runHeld()
}

// Inside a maintenance window a matching alert opens nothing and pages
// nobody; when the window ends, one still firing opens its incident, one
// that stopped opens nothing; alerts the window does not cover open as
// usual.
func TestMaintenanceWindowHoldsAlertsUntilItEnds(t *testing.T) {
	e := gateEnv(t, "")
	if _, err := e.app.AddMaintenance(ctx, "alice", "alertname=DiskFull", t0, t0.Add(time.Hour), ""); err == nil {
		t.Fatal("a non-admin planned a window")
	}
	w, err := e.app.AddMaintenance(ctx, "root", "alertname=DiskFull", t0, t0.Add(time.Hour), "disk swap")
	if err != nil {
		t.Fatal(err)
	}
	if res := e.ingest(t, "firing", "aaaa1111"); res.Held != 1 || res.Opened != 0 {
		t.Fatalf("inside the window: %+v", res)
	}
	e.ingest(t, "firing", "bbbb2222")
	e.ingest(t, "resolved", "bbbb2222") // stops during the window
	if n := e.openCount(t); n != 0 || len(e.pager.sends()) != 0 {
		t.Fatalf("inside the window: %d incidents, %d pages", n, len(e.pager.sends()))
	}
	list, _ := e.app.Maintenance(ctx)
	if list[0].HeldCount != 2 {
		t.Errorf("held count %d, want 2", list[0].HeldCount)
	}
	e.advance(30 * time.Minute)
	if n := e.openCount(t); n != 0 {
		t.Fatalf("opened before the window ended: %d", n)
	}
	e.advance(31 * time.Minute)
	if n := e.openCount(t); n != 1 {
		t.Fatalf("after the window: %d incidents, want the one still firing", n)
	}
	if len(e.pager.sends()) == 0 {
		t.Error("the incident opened at the window's end paged nobody")
	}
	list, _ = e.app.Maintenance(ctx)
	if !list[0].Ended || list[0].ID != w.ID {
		t.Errorf("window after its end: %+v", list[0])
	}
	if res := e.ingest(t, "firing", "cccc3333"); res.Opened != 1 {
		t.Errorf("after the window an alert opens at once: %+v", res)
	}
}

// A "for" threshold opens only an alert still firing after its time (a
// flapping one opens nothing); a count threshold opens on the Nth
// notification within its time.
func TestNoiseThresholdsHoldFlappingAlerts(t *testing.T) {
	e := gateEnv(t, "alertname=DiskFull -> for 5m")
	if res := e.ingest(t, "firing", "aaaa1111"); res.Held != 1 {
		t.Fatalf("first notification: %+v", res)
	}
	e.advance(time.Minute)
	e.ingest(t, "resolved", "aaaa1111")
	e.advance(time.Minute)
	e.ingest(t, "firing", "aaaa1111") // flaps back: its time starts again
	e.advance(2 * time.Minute)
	e.ingest(t, "resolved", "aaaa1111")
	e.advance(10 * time.Minute)
	if n := e.openCount(t); n != 0 {
		t.Fatalf("a flapping alert opened %d incidents", n)
	}
	e.ingest(t, "firing", "aaaa1111")
	e.advance(4 * time.Minute)
	if n := e.openCount(t); n != 0 {
		t.Fatalf("opened before its 5 minutes: %d", n)
	}
	e.advance(2 * time.Minute)
	if n := e.openCount(t); n != 1 {
		t.Fatalf("still firing after 5 minutes: %d incidents, want 1", n)
	}

	c := gateEnv(t, "alertname=DiskFull -> 3 in 10m")
	c.ingest(t, "firing", "dddd4444")
	c.advance(2 * time.Minute)
	c.ingest(t, "firing", "dddd4444")
	if n := c.openCount(t); n != 0 {
		t.Fatalf("opened after 2 of 3: %d", n)
	}
	c.advance(2 * time.Minute)
	if res := c.ingest(t, "firing", "dddd4444"); res.Opened != 1 {
		t.Fatalf("the third within 10 minutes: %+v", res)
	}
}
