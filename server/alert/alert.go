// Package alert reads the webhook notifications of Prometheus Alertmanager
// and Grafana alerting into alerts the incident bot can act on. It is pure:
// bytes in, alerts or an incident.ErrInvalid error out, so that it can be
// table-tested and fuzzed without a server.
//
// Both formats share one shape (Grafana's is Alertmanager's plus title and
// message):
//
//	{"status": "firing", "alerts": [{"status", "labels", "annotations",
//	 "fingerprint", "startsAt", "endsAt", "generatorURL"}],
//	 "groupLabels", "commonLabels", "commonAnnotations", ...}
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Limits on one delivery. Alertmanager groups alerts, so a payload holds
// several, but a storm of thousands in one request is refused rather than
// opening thousands of incidents.
const (
	MaxBody   = 1 << 20 // bytes; larger bodies are refused with 413
	MaxAlerts = 100
)

// Source names a sending system; each has its own token and its own
// fingerprint space.
type Source string

// The supported sources.
const (
	SourceAlertmanager Source = "alertmanager"
	SourceGrafana      Source = "grafana"
)

// Sources lists the supported sources.
var Sources = []Source{SourceAlertmanager, SourceGrafana}

// ParseSource reads a source name (case-insensitive).
func ParseSource(s string) (Source, bool) {
	switch src := Source(strings.ToLower(strings.TrimSpace(s))); src {
	case SourceAlertmanager, SourceGrafana:
		return src, true
	}
	return "", false
}

// Status values of alerts and payloads.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Alert is one alert of a notification.
type Alert struct {
	Status string `json:"status"` // StatusFiring or StatusResolved
	// Fingerprint identifies the alert across notifications: lower-case
	// letters and digits, at most MaxFingerprint long (see Parse).
	Fingerprint  string            `json:"fingerprint"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

// Firing reports whether the alert is firing (not resolved).
func (a Alert) Firing() bool { return a.Status == StatusFiring }

// Payload is one notification.
type Payload struct {
	Status            string            `json:"status"`
	Title             string            `json:"title"`   // Grafana only
	Message           string            `json:"message"` // Grafana only
	Alerts            []Alert           `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
}

// MaxFingerprint bounds a fingerprint's length, so that it fits a store
// document name with the source prefix.
const MaxFingerprint = 64

// Parse reads a notification body. Every error is an incident.ErrInvalid
// whose message says what is wrong, fit to send back to the sender. On
// success every alert has a status of StatusFiring or StatusResolved and a
// valid fingerprint.
func Parse(body []byte) (*Payload, error) {
	if len(body) > MaxBody {
		return nil, incident.Invalidf("the body is larger than %d bytes", MaxBody)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, incident.Invalidf("the body is empty: send the Alertmanager or Grafana webhook JSON")
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, incident.Invalidf("malformed alert JSON: %s", jsonProblem(err))
	}
	if len(p.Alerts) == 0 {
		return nil, incident.Invalidf(`the payload has no "alerts": send the Alertmanager or Grafana webhook JSON`)
	}
	if len(p.Alerts) > MaxAlerts {
		return nil, incident.Invalidf("the payload has %d alerts; at most %d are accepted per request", len(p.Alerts), MaxAlerts)
	}
	p.Status = strings.ToLower(strings.TrimSpace(p.Status))
	for i := range p.Alerts {
		a := &p.Alerts[i]
		a.Status = strings.ToLower(strings.TrimSpace(a.Status))
		if a.Status == "" {
			// An alert without its own status shares the group's.
			a.Status = p.Status
		}
		if a.Status != StatusFiring && a.Status != StatusResolved {
			return nil, incident.Invalidf("alert %d: status %q is neither firing nor resolved", i+1, clip(a.Status, 20))
		}
		fp, ok := fingerprint(a.Fingerprint, a.Labels)
		if !ok {
			return nil, incident.Invalidf("alert %d has neither a fingerprint nor labels to identify it", i+1)
		}
		a.Fingerprint = fp
	}
	return &p, nil
}

// jsonProblem describes a decoding error without echoing large input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error at byte " + itoa(syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return "field " + clip(typ.Field, 60) + " must not be " + typ.Value
		}
		return "expected a JSON object, not " + typ.Value
	}
	return clip(err.Error(), 120)
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// fingerprint returns a as the alert's fingerprint if it is a usable store
// key, a hash of it if not, and without one a hash of the sorted labels:
// the same labels always give the same fingerprint, which is what
// Alertmanager's own fingerprint promises too.
func fingerprint(fp string, labels map[string]string) (string, bool) {
	if fp = strings.TrimSpace(fp); fp != "" {
		if low := strings.ToLower(fp); validFingerprint(low) {
			return low, true
		}
		sum := sha256.Sum256([]byte(fp))
		return "h" + hex.EncodeToString(sum[:16]), true
	}
	if len(labels) == 0 {
		return "", false
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		// Length-prefixing keeps {"a":"b=c"} and {"a=b":"c"} apart.
		h.Write([]byte(itoa(int64(len(k))) + ":" + k + "=" + itoa(int64(len(labels[k]))) + ":" + labels[k] + "\n"))
	}
	return "l" + hex.EncodeToString(h.Sum(nil)[:16]), true
}

func validFingerprint(s string) bool {
	if s == "" || len(s) > MaxFingerprint {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// IncidentTitle is the incident title for a: its summary annotation, else the
// payload's title (Grafana), else its alertname label, cut to the title
// limit.
func (p *Payload) IncidentTitle(a Alert) string {
	t := first(a.Annotations["summary"], a.Annotations["title"], a.Labels["alertname"], p.CommonAnnotations["summary"], p.Title)
	if t == "" {
		t = "Alert " + a.Fingerprint
	}
	return clip(strings.Join(strings.Fields(t), " "), incident.MaxTitleRunes)
}

// IncidentSummary is the incident summary for a: its description annotation, else
// the payload's message (Grafana), with the source link when given.
func (p *Payload) IncidentSummary(a Alert) string {
	s := first(a.Annotations["description"], a.Annotations["message"], p.CommonAnnotations["description"], p.Message)
	if a.GeneratorURL != "" {
		if s != "" {
			s += "\n"
		}
		s += "Source: " + a.GeneratorURL
	}
	return clip(s, incident.MaxSummaryRunes)
}

func first(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// clip cuts s to at most n runes, marking the cut with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// SeverityMap maps a severity label's values (lower case) to severities.
type SeverityMap map[string]incident.Severity

// DefaultSeverityMap is the setting's default.
const DefaultSeverityMap = "critical=S1, high=S2, warning=S3, info=S4"

// ParseSeverityMap reads "critical=S1, high=S2, warning=S3, info=S4".
// Values are matched case-insensitively.
func ParseSeverityMap(s string) (SeverityMap, error) {
	m := SeverityMap{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' }) {
		k, v, ok := strings.Cut(part, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		sev, err := incident.ParseSeverity(v)
		if !ok || k == "" || err != nil {
			return nil, incident.Invalidf("%q is not like critical=S1", clip(part, 40))
		}
		if _, dup := m[k]; dup {
			return nil, incident.Invalidf("%q is mapped twice", k)
		}
		m[k] = sev
	}
	return m, nil
}

// Severity returns the severity of a: the mapped value of its label named
// label, or def when the label is missing or its value is not mapped.
func (m SeverityMap) Severity(a Alert, label string, def incident.Severity) incident.Severity {
	if sev, ok := m[strings.ToLower(strings.TrimSpace(a.Labels[label]))]; ok {
		return sev
	}
	return def
}
