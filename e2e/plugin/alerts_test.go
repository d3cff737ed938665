package plugin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// alertsURL is the alert webhook for source, as a monitoring system calls it.
func alertsURL(source string) string {
	return srv.URL + "/plugins/" + pluginID + "/api/v1/alerts?source=" + source
}

// postAlert sends body over plain HTTP, with token in the X-Incident-Token
// header (inHeader) or the token query parameter, and decodes the reply.
func postAlert(t *testing.T, url, token string, inHeader bool, body []byte) (int, map[string]any) {
	t.Helper()
	headers := map[string]string{}
	switch {
	case token == "":
	case inHeader:
		headers["X-Incident-Token"] = token
	default:
		url += "&token=" + token
	}
	return postAlertWith(t, url, headers, body)
}

// postAlertWith sends body with the given headers and decodes the reply.
func postAlertWith(t *testing.T, url string, headers map[string]string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// amPayload is an Alertmanager webhook notification with one alert.
func amPayload(status, fingerprint, name string) []byte {
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": "{}:{alertname=\"" + name + "\"}", "receiver": "incident-bot", "status": status,
		"groupLabels":  map[string]string{"alertname": name},
		"commonLabels": map[string]string{"alertname": name, "severity": "high"},
		"alerts": []map[string]any{{
			"status": status, "fingerprint": fingerprint,
			"labels":      map[string]string{"alertname": name, "severity": "high", "instance": "db-1:9187"},
			"annotations": map[string]string{"summary": name + " on db-1", "description": "Replication lag above 30s for 5m"},
			"startsAt":    "2026-11-02T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus.example/graph?g0.expr=pg_replication_lag",
		}},
	})
	return b
}

// TestAlertWebhookOpensAttachesAndNotes drives the alert webhook as
// Alertmanager does: a firing alert opens one incident, a repeat attaches
// to it, a resolved notification is noted; refused deliveries change
// nothing.
func TestAlertWebhookOpensAttachesAndNotes(t *testing.T) {
	ctx := ctxT(t)
	const token = "e2e-alertmanager-token-5f1c9a"
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id,
		"AlertmanagerToken": token, "EscalationTimeouts": "S1=off, S2=off, S3=off, S4=off"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(ctxT(t), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id}); err != nil {
			t.Error(err)
		}
	})
	u := srv.Users[3]
	name := fmt.Sprintf("PostgresReplicationLag%d", time.Now().UnixNano()%1e6)
	fp := fmt.Sprintf("%016x", time.Now().UnixNano())
	before := incidentChannels(t)

	code, res := postAlert(t, alertsURL("alertmanager"), token, true, amPayload("firing", fp, name))
	if code != http.StatusOK || res["opened"] != float64(1) {
		t.Fatalf("first firing: %d %v\n%s", code, res, srv.PluginLogTail(pluginID, 20))
	}
	ids, _ := res["incidents"].([]any)
	if len(ids) != 1 {
		t.Fatalf("first firing: incidents %v", res["incidents"])
	}
	id := ids[0].(string)
	if n := incidentChannels(t); n != before+1 {
		t.Fatalf("incident channels: %d, want %d", n, before+1)
	}
	ch, _, err := u.Client.GetChannelByName(ctx, "incident-"+id+"-"+strings.ToLower(name)+"-on-db-1", srv.Team.Id, "")
	if err != nil {
		t.Fatalf("incident channel of %s: %v", id, err)
	}
	// The listing's index is the follow-up's first step: a moment after.
	listed(t, u, id, name+" on db-1", "S2")
	if c := card(t, srv.Admin, started{ID: id, Channel: ch}); !strings.Contains(harness.PostText(c), "S2") {
		t.Errorf("card does not show the mapped severity S2:\n%s", harness.PostText(c))
	}

	timeline := func() string { return cmd(t, u, srv.TownSquare.Id, "/incident timeline "+id).Text }

	// A token in the URL is refused, with what to do instead, even beside
	// a good header: URLs end up in logs.
	for _, headers := range []map[string]string{nil, {"X-Incident-Token": token}} {
		code, res = postAlertWith(t, alertsURL("alertmanager")+"&token="+token, headers, amPayload("firing", fp, name))
		if msg, _ := res["error"].(string); code != http.StatusUnauthorized || !strings.Contains(msg, "token in the URL is not accepted") ||
			!strings.Contains(msg, "X-Incident-Token header") {
			t.Fatalf("token in the query (headers %v): %d %v", headers, code, res)
		}
	}
	// Authorization: Bearer, as Alertmanager's http_config.authorization
	// and Grafana's webhook send it, reaches plugins from Mattermost 9.4;
	// older servers remove the header first, and the reply says so.
	code, res = postAlertWith(t, alertsURL("alertmanager"), map[string]string{"Authorization": "Bearer " + token}, amPayload("firing", fp, name))
	if bearerReachesPlugins() {
		if code != http.StatusOK || res["attached"] != float64(1) {
			t.Fatalf("bearer token: %d %v", code, res)
		}
	} else if msg, _ := res["error"].(string); code != http.StatusUnauthorized || !strings.Contains(msg, "older servers remove it") {
		t.Fatalf("bearer token on Mattermost %s: %d %v", harness.ServerVersion, code, res)
	}
	// The same alert again attaches.
	code, res = postAlert(t, alertsURL("alertmanager"), token, true, amPayload("firing", fp, name))
	if code != http.StatusOK || res["attached"] != float64(1) || res["opened"] != float64(0) {
		t.Fatalf("repeat: %d %v", code, res)
	}
	if n := incidentChannels(t); n != before+1 {
		t.Fatalf("incident channels after repeat: %d, want %d", n, before+1)
	}
	// The alert's note reaches the timeline right after the answer.
	waitCmd(t, u, srv.TownSquare.Id, "/incident timeline "+id, "alert repeated", "Alert firing again")

	code, res = postAlert(t, alertsURL("alertmanager"), token, true, amPayload("resolved", fp, name))
	if code != http.StatusOK || res["resolved"] != float64(1) {
		t.Fatalf("resolved: %d %v", code, res)
	}
	tl := waitCmd(t, u, srv.TownSquare.Id, "/incident timeline "+id, "alert resolved", "Alert resolved")
	// Noted, not resolved: people decide when the incident is over.
	mustContain(t, "still listed", cmd(t, u, srv.TownSquare.Id, "/incident list").Text, id)
	// Both are told in the incident channel too.
	waitPost(t, srv.Admin, ch.Id, "alertmanager fired again")
	waitPost(t, srv.Admin, ch.Id, "alertmanager reports the alert resolved", "stays open")

	// Refusals: each leaves incidents and the timeline as they were.
	rows := strings.Count(tl, "\n|")
	big := append([]byte(`{"alerts":[{"status":"firing","labels":{"a":"`), bytes.Repeat([]byte("x"), 1<<20)...)
	big = append(big, []byte(`"}}]}`)...)
	for _, c := range []struct {
		what, url, token string
		body             []byte
		want             int
	}{
		{"wrong token", alertsURL("alertmanager"), "not-the-token", amPayload("firing", "ffff0000", "Other"), http.StatusUnauthorized},
		{"no token", alertsURL("alertmanager"), "", amPayload("firing", "ffff0001", "Other"), http.StatusUnauthorized},
		{"disabled source", alertsURL("grafana"), token, amPayload("firing", "ffff0002", "Other"), http.StatusUnauthorized},
		{"unknown source", alertsURL("nagios"), token, amPayload("firing", "ffff0003", "Other"), http.StatusUnauthorized},
		{"oversized", alertsURL("alertmanager"), token, big, http.StatusRequestEntityTooLarge},
		{"malformed", alertsURL("alertmanager"), token, []byte(`{"alerts": [{"status": "firing",`), http.StatusBadRequest},
		{"no alerts", alertsURL("alertmanager"), token, []byte(`{"status": "firing", "alerts": []}`), http.StatusBadRequest},
	} {
		if code, res := postAlert(t, c.url, c.token, true, c.body); code != c.want {
			t.Errorf("%s: status %d (%v), want %d", c.what, code, res, c.want)
		}
		if n := incidentChannels(t); n != before+1 {
			t.Errorf("%s: incident channels %d, want %d", c.what, n, before+1)
		}
	}
	if got := strings.Count(timeline(), "\n|"); got != rows {
		t.Errorf("timeline rows after refusals: %d, want %d", got, rows)
	}
}

// bearerReachesPlugins reports whether the test server passes an
// Authorization header that is no Mattermost session on to plugins, as
// servers do from 9.4.
func bearerReachesPlugins() bool {
	var major, minor int
	if _, err := fmt.Sscanf(harness.ServerVersion, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 9 || major == 9 && minor >= 4
}
