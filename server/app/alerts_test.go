package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// alertReq builds a delivery of one alert from Alertmanager.
func alertReq(t testing.TB, status, fingerprint string) AlertRequest {
	t.Helper()
	p, err := alert.Parse([]byte(fmt.Sprintf(`{"status":%q,"alerts":[{"status":%q,"fingerprint":%q,
		"labels":{"alertname":"DiskFull","severity":"critical"},
		"annotations":{"summary":"Disk full on node-3","description":"97%% used"}}]}`, status, status, fingerprint)))
	if err != nil {
		t.Fatal(err)
	}
	return AlertRequest{Source: alert.SourceAlertmanager, TeamID: "team1", ActorID: "bot", Payload: p}
}

func (e *env) activeCount(t testing.TB) int {
	t.Helper()
	list, _, err := e.store.ListActive(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func (e *env) eventsOf(t testing.TB, id string, typ incident.EventType) []incident.Event {
	t.Helper()
	tl, err := e.store.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []incident.Event
	for _, ev := range tl {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func TestAlertOpensAttachesAndNotes(t *testing.T) { forEachStore(t, testAlertOpensAttachesAndNotes) }

func testAlertOpensAttachesAndNotes(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	ctx := context.Background()

	res, err := e.app.IngestAlerts(ctx, alertReq(t, "firing", "aaaa1111"))
	if err != nil || res.Opened != 1 || len(res.Incidents) != 1 {
		t.Fatalf("first firing: %+v, %v", res, err)
	}
	id := res.Incidents[0]
	inc, err := e.store.GetIncident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Title != "Disk full on node-3" || inc.Summary != "97% used" || inc.CreatedBy != "bot" || inc.TeamID != "team1" {
		t.Errorf("incident: %+v", inc)
	}

	res, err = e.app.IngestAlerts(ctx, alertReq(t, "firing", "aaaa1111"))
	if err != nil || res.Attached != 1 || res.Opened != 0 || res.Incidents[0] != id {
		t.Fatalf("repeat: %+v, %v", res, err)
	}
	rep := e.eventsOf(t, id, incident.EventAlertRepeated)
	if len(rep) != 1 || rep[0].Data[incident.DataFingerprint] != "aaaa1111" || rep[0].Data[incident.DataAlertSource] != "alertmanager" {
		t.Errorf("alert_repeated events: %+v", rep)
	}

	res, err = e.app.IngestAlerts(ctx, alertReq(t, "resolved", "aaaa1111"))
	if err != nil || res.Resolved != 1 {
		t.Fatalf("resolved: %+v, %v", res, err)
	}
	if got := e.eventsOf(t, id, incident.EventAlertResolved); len(got) != 1 {
		t.Errorf("alert_resolved events: %+v", got)
	}
	if inc, _ := e.store.GetIncident(ctx, id); !inc.Status.Active() {
		t.Error("a resolved alert resolved the incident; only people do that")
	}
	if n := e.activeCount(t); n != 1 {
		t.Errorf("%d active incidents, want 1", n)
	}

	// A resolved alert never seen firing is counted, not stored.
	res, err = e.app.IngestAlerts(ctx, alertReq(t, "resolved", "bbbb2222"))
	if err != nil || res.Ignored != 1 || len(res.Incidents) != 0 {
		t.Fatalf("unknown resolved: %+v, %v", res, err)
	}
	if b, _ := e.store.GetDoc(ctx, alertDocName(alert.SourceAlertmanager, "bbbb2222")); b != nil {
		t.Errorf("unknown resolved alert stored: %s", b)
	}

	// The same fingerprint from the other source is another alert.
	req := alertReq(t, "firing", "aaaa1111")
	req.Source = alert.SourceGrafana
	if res, err := e.app.IngestAlerts(ctx, req); err != nil || res.Opened != 1 {
		t.Fatalf("other source: %+v, %v", res, err)
	}
}

func TestAlertAfterIncidentResolvedOpensANewOne(t *testing.T) {
	forEachStore(t, testAlertAfterIncidentResolvedOpensANewOne)
}

func testAlertAfterIncidentResolvedOpensANewOne(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	ctx := context.Background()
	res, err := e.app.IngestAlerts(ctx, alertReq(t, "firing", "cccc3333"))
	if err != nil {
		t.Fatal(err)
	}
	inc, _ := e.store.GetIncident(ctx, res.Incidents[0])
	if _, err := e.app.Resolve(ctx, "alice", inc, "fixed"); err != nil {
		t.Fatal(err)
	}
	res2, err := e.app.IngestAlerts(ctx, alertReq(t, "firing", "cccc3333"))
	if err != nil || res2.Opened != 1 || res2.Incidents[0] == inc.ID {
		t.Fatalf("firing after resolve: %+v, %v", res2, err)
	}
}

// TestConcurrentDuplicateAlertsOpenOneIncident: Alertmanager in HA sends
// the same notification from every replica at once; one incident results,
// the other deliveries attach to it.
func TestConcurrentDuplicateAlertsOpenOneIncident(t *testing.T) {
	forEachStore(t, testConcurrentDuplicateAlertsOpenOneIncident)
}

func testConcurrentDuplicateAlertsOpenOneIncident(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	const n = 8
	var wg sync.WaitGroup
	results := make([]AlertResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.app.IngestAlerts(context.Background(), alertReq(t, "firing", "dddd4444"))
		}()
	}
	wg.Wait()
	opened, attached := 0, 0
	ids := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("delivery %d: %v", i, errs[i])
		}
		opened += results[i].Opened
		attached += results[i].Attached
		for _, id := range results[i].Incidents {
			ids[id] = true
		}
	}
	if opened != 1 || attached != n-1 || len(ids) != 1 || e.activeCount(t) != 1 {
		t.Fatalf("opened %d, attached %d, incidents %v, active %d; want 1, %d, one, 1", opened, attached, ids, e.activeCount(t), n-1)
	}
	e.chat.mu.Lock()
	defer e.chat.mu.Unlock()
	if len(e.chat.channels) != 1 {
		t.Errorf("%d channels created, want 1", len(e.chat.channels))
	}
}

// TestAlertStartFailureReleasesTheClaim: a failed start leaves nothing
// behind, so that the sender's retry opens the incident.
func TestAlertStartFailureReleasesTheClaim(t *testing.T) {
	forEachStore(t, testAlertStartFailureReleasesTheClaim)
}

func testAlertStartFailureReleasesTheClaim(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	ctx := context.Background()
	e.chat.failAt = "channel"
	res, err := e.app.IngestAlerts(ctx, alertReq(t, "firing", "eeee5555"))
	if err == nil || res.Opened != 0 {
		t.Fatalf("want a failure: %+v, %v", res, err)
	}
	if b, _ := e.store.GetDoc(ctx, alertDocName(alert.SourceAlertmanager, "eeee5555")); b != nil {
		t.Errorf("claim left behind: %s", b)
	}
	e.chat.mu.Lock()
	e.chat.failAt = ""
	e.chat.mu.Unlock()
	if res, err := e.app.IngestAlerts(ctx, alertReq(t, "firing", "eeee5555")); err != nil || res.Opened != 1 {
		t.Fatalf("retry: %+v, %v", res, err)
	}
}

// TestAlertAbandonedClaimIsTakenOver: a claim whose holder died (its
// lease ran out) does not swallow the alert forever.
func TestAlertAbandonedClaimIsTakenOver(t *testing.T) {
	forEachStore(t, testAlertAbandonedClaimIsTakenOver)
}

func testAlertAbandonedClaimIsTakenOver(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	ctx := context.Background()
	name := alertDocName(alert.SourceAlertmanager, "ffff6666")
	if ok, err := e.store.CompareAndSetDoc(ctx, name, nil, []byte(`{"claim":"dead","claimed_at":"2020-01-01T00:00:00Z"}`)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if res, err := e.app.IngestAlerts(ctx, alertReq(t, "firing", "ffff6666")); err != nil || res.Opened != 1 {
		t.Fatalf("after an abandoned claim: %+v, %v", res, err)
	}
}

func TestIngestAlertsNeedsTeamAndActor(t *testing.T) {
	e := newEnv(t)
	req := alertReq(t, "firing", "abab")
	req.TeamID = ""
	if _, err := e.app.IngestAlerts(context.Background(), req); err == nil || errors.Is(err, incident.ErrInvalid) {
		t.Fatalf("no team: %v", err)
	}
}
