package outbound

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/hosts"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func message(private bool) *app.ReachMessage {
	inc := &incident.Incident{ID: "k3x9qd", Title: "Checkout down", Severity: incident.S1, Private: private}
	p := &app.Page{ID: "k3x9qd-abc", By: "ann", CreatedAt: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
		Targets: []app.PageTarget{{UserID: "bob", Role: incident.RoleL1}}}
	return &app.ReachMessage{Page: p, Incident: inc, Level: 1, Target: p.Targets[0], Token: "tok.sig", Delivery: "k3x9qd-abc/1/webhook"}
}

func sender(list hosts.List) *Sender {
	return &Sender{PageURL: func(path string) string { return "https://chat.example.com/plugins/x" + path },
		Hosts: func() hosts.List { return list }, Name: func(u string) string { return "@" + u }}
}

// The webhook body is the documented JSON, signed over its timestamp and
// bytes; a private incident's title stays out of it.
func TestWebhookBodyIsSignedAndKeepsPrivateTitlesOut(t *testing.T) {
	var got []byte
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		hdr = r.Header.Clone()
	}))
	defer srv.Close()
	s := sender(hosts.List{"127.0.0.1"})
	status, err := s.WebhookPage(context.Background(), message(false), srv.URL, "s3cret")
	if err != nil || status != 200 {
		t.Fatalf("webhook: %d, %v", status, err)
	}
	ts, _ := strconv.ParseInt(hdr.Get(HeaderTimestamp), 10, 64)
	if want := Sign("s3cret", ts, got); hdr.Get(HeaderSignature) != want || !strings.HasPrefix(want, "sha256=") {
		t.Errorf("signature %q, want %q", hdr.Get(HeaderSignature), want)
	}
	if hdr.Get(HeaderDelivery) != "k3x9qd-abc/1/webhook" {
		t.Errorf("delivery header %q", hdr.Get(HeaderDelivery))
	}
	var b Body
	if err := json.Unmarshal(got, &b); err != nil {
		t.Fatal(err)
	}
	if b.Type != "page" || b.Incident.Title != "Checkout down" || b.Page.TargetUsername != "bob" || b.Page.Role != "l1" ||
		b.AcknowledgeURL != "https://chat.example.com/plugins/x/ack/tok.sig" || !strings.Contains(b.Text, "PAGE as First line: Incident #k3x9qd S1: Checkout down") {
		t.Errorf("body %+v", b)
	}
	if _, err := s.WebhookPage(context.Background(), message(true), srv.URL, "s3cret"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), "Checkout down") {
		t.Errorf("a private incident's title went out: %s", got)
	}
}

// Internal addresses are dialled only when listed; redirects are not
// followed; a failing status is an error with the status.
func TestWebhookClientRefusesInternalAndRedirects(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit = true
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "http://169.254.169.254/latest", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	if _, err := sender(nil).WebhookPage(context.Background(), message(false), srv.URL, "s"); err == nil || hit {
		t.Fatalf("an unlisted loopback address was dialled: %v", err)
	}
	s := sender(hosts.List{"127.0.0.1"})
	if status, err := s.WebhookPage(context.Background(), message(false), srv.URL, "s"); status != 502 || err == nil {
		t.Errorf("a 502: %d, %v", status, err)
	}
	if status, err := s.WebhookPage(context.Background(), message(false), srv.URL+"/moved", "s"); status != 302 || err == nil {
		t.Errorf("a redirect: %d, %v; want it reported, not followed", status, err)
	}
}
