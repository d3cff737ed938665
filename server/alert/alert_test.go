package alert

import (
	"errors"
	"strings"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

const amFiring = `{
  "version": "4", "status": "firing", "receiver": "incident-bot",
  "groupLabels": {"alertname": "HighLatency"},
  "commonLabels": {"alertname": "HighLatency", "severity": "critical"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "alerts": [
    {"status": "firing", "fingerprint": "9F3C2B1A0D4E5F60",
     "labels": {"alertname": "HighLatency", "severity": "critical", "instance": "api-1"},
     "annotations": {"summary": "p99 latency above 2s", "description": "api-1 p99 is 3.4s"},
     "startsAt": "2026-11-02T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "http://prometheus:9090/graph?g0.expr=latency"},
    {"status": "resolved",
     "labels": {"alertname": "HighLatency", "severity": "critical", "instance": "api-2"},
     "annotations": {},
     "startsAt": "2026-11-02T08:00:00Z", "endsAt": "2026-11-02T08:30:00Z"}
  ]
}`

const grafanaFiring = `{
  "receiver": "incident-bot", "status": "firing", "orgId": 1,
  "title": "[FIRING:1] DiskFull (node-3)", "message": "Disk / on node-3 is 97% full",
  "groupLabels": {}, "commonLabels": {"alertname": "DiskFull"},
  "alerts": [{"status": "firing", "fingerprint": "a1b2c3d4e5f60718",
    "labels": {"alertname": "DiskFull", "grafana_folder": "infra"},
    "annotations": {}, "startsAt": "2026-11-02T09:00:00+01:00", "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://grafana/alerting/grafana/abc/view", "silenceURL": "", "values": {"B": 97.2}}]
}`

func TestParseFormats(t *testing.T) {
	p, err := Parse([]byte(amFiring))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Alerts) != 2 || !p.Alerts[0].Firing() || p.Alerts[1].Firing() {
		t.Fatalf("alerts: %+v", p.Alerts)
	}
	if fp := p.Alerts[0].Fingerprint; fp != "9f3c2b1a0d4e5f60" {
		t.Errorf("fingerprint not lower-cased: %q", fp)
	}
	if fp := p.Alerts[1].Fingerprint; !strings.HasPrefix(fp, "l") || len(fp) != 33 {
		t.Errorf("derived fingerprint: %q", fp)
	}
	if got := p.IncidentTitle(p.Alerts[0]); got != "p99 latency above 2s" {
		t.Errorf("title from summary: %q", got)
	}
	if got := p.IncidentTitle(p.Alerts[1]); got != "HighLatency" {
		t.Errorf("title from alertname: %q", got)
	}
	if got := p.IncidentSummary(p.Alerts[0]); got != "api-1 p99 is 3.4s\nSource: http://prometheus:9090/graph?g0.expr=latency" {
		t.Errorf("summary: %q", got)
	}

	g, err := Parse([]byte(grafanaFiring))
	if err != nil {
		t.Fatal(err)
	}
	if got := g.IncidentTitle(g.Alerts[0]); got != "DiskFull" {
		t.Errorf("grafana title: %q", got)
	}
	if got := g.IncidentSummary(g.Alerts[0]); !strings.HasPrefix(got, "Disk / on node-3 is 97% full\nSource: ") {
		t.Errorf("grafana summary from message: %q", got)
	}
}

func TestParseRefusesClearly(t *testing.T) {
	many := `{"alerts":[` + strings.TrimSuffix(strings.Repeat(`{"status":"firing","labels":{"a":"b"}},`, MaxAlerts+1), ",") + `]}`
	for _, c := range []struct{ name, body, want string }{
		{"empty", "", "empty"},
		{"blank", " \n\t", "empty"},
		{"not json", "alert!", "malformed"},
		{"truncated", `{"alerts": [{"status": "firing",`, "malformed"},
		{"array", `[1, 2]`, "JSON object"},
		{"trailing", `{"alerts":[{"status":"firing","labels":{"a":"b"}}]} {}`, "malformed"},
		{"label not string", `{"alerts":[{"status":"firing","labels":{"a":1}}]}`, "labels"},
		{"bad time", `{"alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"yesterday"}]}`, "malformed"},
		{"no alerts", `{"status":"firing"}`, `no "alerts"`},
		{"empty alerts", `{"status":"firing","alerts":[]}`, `no "alerts"`},
		{"too many", many, "at most 100"},
		{"bad status", `{"alerts":[{"status":"pending","labels":{"a":"b"}}]}`, "neither firing nor resolved"},
		{"no status", `{"alerts":[{"labels":{"a":"b"}}]}`, "neither firing nor resolved"},
		{"no identity", `{"alerts":[{"status":"firing"}]}`, "neither a fingerprint nor labels"},
		{"too large", `{"alerts":[{"status":"firing","labels":{"a":"` + strings.Repeat("x", MaxBody) + `"}}]}`, "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.body))
			if p != nil || !errors.Is(err, incident.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, %v; want an invalid error containing %q", p, err, c.want)
			}
		})
	}
}

func TestParseStatusAndFingerprints(t *testing.T) {
	p, err := Parse([]byte(`{"status":"RESOLVED","alerts":[
		{"labels":{"b":"2","a":"1"}},
		{"status":"Firing","labels":{"a":"1","b":"2"}},
		{"status":"firing","fingerprint":"Not/A Key!","labels":{}},
		{"status":"firing","labels":{"a":"1=b"}},
		{"status":"firing","labels":{"a=1":"b"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	a := p.Alerts
	if a[0].Status != StatusResolved || a[1].Status != StatusFiring {
		t.Errorf("statuses: %q %q", a[0].Status, a[1].Status)
	}
	if a[0].Fingerprint != a[1].Fingerprint {
		t.Errorf("same labels, different fingerprints: %q %q", a[0].Fingerprint, a[1].Fingerprint)
	}
	if fp := a[2].Fingerprint; !validFingerprint(fp) || fp == "not/a key!" {
		t.Errorf("unusable fingerprint kept: %q", fp)
	}
	if a[3].Fingerprint == a[4].Fingerprint {
		t.Errorf("ambiguous label encodings collide")
	}
	for _, al := range a {
		if !incident.ValidDocName("alerts/v1/alertmanager/" + al.Fingerprint) {
			t.Errorf("fingerprint %q does not fit a doc name", al.Fingerprint)
		}
	}
}

func TestTitleAndSummaryLimits(t *testing.T) {
	long := strings.Repeat("é", 500)
	p, err := Parse([]byte(`{"alerts":[{"status":"firing","labels":{"alertname":"x"},"annotations":{"summary":"` + long + `","description":"` + strings.Repeat(long, 10) + `"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incident.CleanTitle(p.IncidentTitle(p.Alerts[0])); err != nil {
		t.Errorf("title not cut to the limit: %v", err)
	}
	if _, err := incident.CleanText("summary", p.IncidentSummary(p.Alerts[0]), incident.MaxSummaryRunes, false); err != nil {
		t.Errorf("summary not cut to the limit: %v", err)
	}
	q, _ := Parse([]byte(`{"alerts":[{"status":"firing","fingerprint":"abc"}]}`))
	if got := q.IncidentTitle(q.Alerts[0]); got != "Alert abc" {
		t.Errorf("fallback title: %q", got)
	}
}

func TestSeverityMap(t *testing.T) {
	m, err := ParseSeverityMap(DefaultSeverityMap)
	if err != nil {
		t.Fatal(err)
	}
	al := func(v string) Alert { return Alert{Labels: map[string]string{"severity": v}} }
	for v, want := range map[string]incident.Severity{"critical": incident.S1, "HIGH": incident.S2, " warning ": incident.S3, "info": incident.S4, "page": incident.S3, "": incident.S3} {
		if got := m.Severity(al(v), "severity", incident.S3); got != want {
			t.Errorf("%q: %s, want %s", v, got, want)
		}
	}
	if got := m.Severity(al("critical"), "priority", incident.S4); got != incident.S4 {
		t.Errorf("other label: %s", got)
	}
	for _, bad := range []string{"critical", "critical=S9", "=S1", "critical=S1, critical=S2"} {
		if _, err := ParseSeverityMap(bad); !errors.Is(err, incident.ErrInvalid) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
	if _, ok := ParseSource("Grafana"); !ok {
		t.Error("source names are case-insensitive")
	}
	if _, ok := ParseSource("nagios"); ok {
		t.Error("unknown source accepted")
	}
}
