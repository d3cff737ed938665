package alert

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// FuzzParseAlert: any body gives either an invalid-input error or a payload
// every later step can rely on; never a panic.
func FuzzParseAlert(f *testing.F) {
	for _, s := range []string{amFiring, grafanaFiring, "", "{}", `{"alerts":null}`, `{"alerts":[{}]}`,
		`{"status":"resolved","alerts":[{"labels":{"a":"b"}}]}`, `{"alerts":[{"status":"firing","fingerprint":"\u00e9"}]}`} {
		f.Add([]byte(s))
	}
	m, _ := ParseSeverityMap(DefaultSeverityMap)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Parse(body)
		if err != nil {
			if p != nil || !errors.Is(err, incident.ErrInvalid) || incident.UserMessage(err) == "" {
				t.Fatalf("error %v with payload %v", err, p)
			}
			return
		}
		if n := len(p.Alerts); n == 0 || n > MaxAlerts {
			t.Fatalf("%d alerts accepted", n)
		}
		for _, a := range p.Alerts {
			if a.Status != StatusFiring && a.Status != StatusResolved {
				t.Fatalf("status %q", a.Status)
			}
			if !validFingerprint(a.Fingerprint) || !incident.ValidDocName("alerts/v1/alertmanager/"+a.Fingerprint) {
				t.Fatalf("fingerprint %q", a.Fingerprint)
			}
			title := p.IncidentTitle(a)
			if _, err := incident.CleanTitle(title); err != nil && utf8.ValidString(title) {
				t.Fatalf("title %q refused: %v", title, err)
			}
			if _, err := incident.CleanText("summary", p.IncidentSummary(a), incident.MaxSummaryRunes, false); err != nil {
				t.Fatalf("summary refused: %v", err)
			}
			if !m.Severity(a, "severity", incident.S3).Valid() {
				t.Fatal("invalid severity")
			}
		}
	})
}
