package app

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// A page goes beyond the chat as its rota's policy says: after the wait,
// by email and to the webhook the paged person registered; a failing
// webhook is retried with backoff and each outcome is on the timeline;
// the signed link acknowledges the page once, as that person, and an
// altered or reused link does nothing.
func TestPagesGoBeyondTheChatAndTheirLinkAcknowledges(t *testing.T) {
	e := newCostEnv(t)
	e.app.settings = func(s func() Settings) func() Settings {
		return func() Settings { v := s(); v.WebhookHosts = []string{"sms.example.com"}; return v }
	}(e.app.settings)
	setRotaFlag(t, e, func(r *rota.Rota) { r.Escalation.OutsideAfter = time.Minute })
	if err := e.app.SetReachEmail(ctx, "lea", true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.SetReachWebhook(ctx, "lea", "https://evil.example.net/x"); incident.KindOf(err) != incident.KindInvalid {
		t.Fatalf("an unlisted webhook host: %v", err)
	}
	secret, err := e.app.SetReachWebhook(ctx, "lea", "https://sms.example.com/page")
	if err != nil || len(secret) < 32 {
		t.Fatalf("webhook: %q, %v", secret, err)
	}
	e.reach.webhookFails = 2

	inc, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "Checkout down", Severity: incident.S1})
	if err != nil {
		t.Fatal(err)
	}
	e.runHeld()
	at := t0
	tick := func(d time.Duration) {
		at = at.Add(d)
		e.clk.set(at)
		e.app.Tick(ctx)
		e.runHeld()
	}
	tick(30 * time.Second)
	if n, h := e.reach.counts(); n+h != 0 {
		t.Fatalf("sent beyond the chat before the policy's minute: %d emails, %d webhooks", n, h)
	}
	tick(31 * time.Second)
	if n, h := e.reach.counts(); n != 1 || h != 1 {
		t.Fatalf("after a minute: %d emails, %d webhooks; want one each", n, h)
	}
	tick(6 * time.Second)  // the first retry, 5 s after the failure
	tick(16 * time.Second) // the second, 15 s after that: it succeeds
	tick(60 * time.Second)
	if n, h := e.reach.counts(); n != 1 || h != 3 {
		t.Fatalf("after retries: %d emails, %d webhooks; want 1 and 3 (two failures, then success)", n, h)
	}
	events, _ := e.app.store.Timeline(ctx, inc.ID)
	var texts []string
	for _, ev := range events {
		if ev.Type == incident.EventPageOutside {
			texts = append(texts, ev.Text)
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"page to <@lea> (level 1) sent by email", "by webhook failed (try 1): HTTP 503; trying again in 5s",
		"by webhook failed (try 2)", "sent to their webhook (HTTP 200)"} {
		if !strings.Contains(all, want) {
			t.Errorf("timeline lacks %q:\n%s", want, all)
		}
	}

	m := e.reach.emails[0]
	if m.Target.UserID != "lea" || m.Level != 1 || m.Token == "" {
		t.Fatalf("email message %+v", m)
	}
	if _, err := e.app.AcknowledgeByLink(ctx, m.Token+"x"); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("an altered link: %v", err)
	}
	l, err := e.app.ReadAckLink(ctx, m.Token)
	if err != nil || l.User != "lea" || l.Used || !l.Page.Pending() {
		t.Fatalf("read link: %+v, %v", l, err)
	}
	p, err := e.app.AcknowledgeByLink(ctx, m.Token)
	if err != nil || p.AckedBy != "lea" {
		t.Fatalf("acknowledge by link: %+v, %v", p, err)
	}
	if _, err := e.app.AcknowledgeByLink(ctx, m.Token); incident.KindOf(err) != incident.KindConflict {
		t.Errorf("a used link: %v", err)
	}
	tick(10 * time.Minute)
	if n, h := e.reach.counts(); n != 1 || h != 3 {
		t.Errorf("after the acknowledgement: %d emails, %d webhooks; want nothing more", n, h)
	}
	// An expired link.
	e.clk.set(at.Add(25 * time.Hour))
	if _, err := e.app.ReadAckLink(ctx, m.Token); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("a link after 25 hours: %v", err)
	}
}

// A rota whose policy keeps pages in the chat sends nothing beyond it.
func TestPolicyOffKeepsPagesInTheChat(t *testing.T) {
	e := newCostEnv(t)
	setRotaFlag(t, e, func(r *rota.Rota) { r.Escalation.OutsideOff = true })
	if err := e.app.SetReachEmail(ctx, "lea", true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "Checkout down", Severity: incident.S1}); err != nil {
		t.Fatal(err)
	}
	e.runHeld()
	e.clk.set(t0.Add(time.Minute))
	e.app.Tick(ctx)
	e.runHeld()
	if n, h := e.reach.counts(); n+h != 0 {
		t.Errorf("sent beyond the chat with the policy off: %d emails, %d webhooks", n, h)
	}
	e.reach.off = "email notifications are off"
	if err := e.app.SetReachEmail(ctx, "leo", true); incident.KindOf(err) != incident.KindInvalid || !strings.Contains(incident.UserMessage(err), "sends no email") {
		t.Errorf("email on while the server sends none: %v", err)
	}
}
