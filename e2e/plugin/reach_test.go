package plugin_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
	"github.com/incidentbot/mattermost-incident-bot/server/outbound"
)

// reachRota makes a rota of its own with a first line and an incident
// manager in a new rota channel, and the policy sending pages beyond the
// chat as outside says ("now", "after 3s").
func reachRota(t *testing.T, ctx context.Context, prefix, outside string) (name string, l1, im *harness.User, ch *model.Channel) {
	t.Helper()
	name = prefix + uniq()
	l1, im = newUser(t, ctx, name+"-l1"), newUser(t, ctx, name+"-im")
	ch, err := srv.NewChannel(ctx, name+"-rota", false, l1, im)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"create " + name, "set l1 @" + l1.Username + " --rota " + name, "set im @" + im.Username + " --rota " + name,
		"escalation timeouts S1=12s --rota " + name, "escalation outside " + outside + " --rota " + name} {
		if r := cmd(t, srv.Admin, ch.Id, "/incident rota "+c).Text; strings.Contains(r, "Usage") {
			t.Fatalf("rota %s: %s", c, r)
		}
	}
	mustContain(t, "rota channel", cmd(t, srv.Admin, ch.Id, "/incident rota channel --rota "+name).Text, "now the rota channel")
	return name, l1, im, ch
}

var ackLink = regexp.MustCompile(`href="([^"]*/ack/[^"]+)"`)

// An unacknowledged S1 page reaches the first line's mailbox (a real SMTP
// server on loopback that the Mattermost server sends through) after the
// rota's delay; the mail's link, opened without a session, asks for a
// press and then acknowledges the page, which stops its escalation.
func TestPageByEmailAndItsLinkAcknowledges(t *testing.T) {
	ctx := ctxT(t)
	sink, err := harness.StartSMTPSink()
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	undo, err := srv.UseSMTP(ctx, sink)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(undo)
	name, l1, im, ch := reachRota(t, ctx, "mail", "after 3s")
	mustContain(t, "notify", cmd(t, l1, ch.Id, "/incident notify email on").Text, "email address")
	mustContain(t, "notify show", cmd(t, l1, ch.Id, "/incident notify").Text, "email: on")

	s := start(t, l1, "Payments API down --severity S1 --rota "+name)
	page := waitPagePost(t, ctx, l1, ch.Id, l1)
	m, err := sink.Wait(ctx, wait+5*time.Second, func(m harness.Mail) bool {
		return len(m.To) > 0 && m.To[0] == l1.Email && strings.Contains(m.Subject(), "#"+s.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	delay := m.At.Sub(time.UnixMilli(page.CreateAt))
	t.Logf("page post to the mail accepted by the SMTP server: %s (policy: after 3s)", delay.Round(100*time.Millisecond))
	if delay < 3*time.Second {
		t.Errorf("the mail came %s after the page post, before the policy's 3 s", delay)
	}
	mustContain(t, "subject", m.Subject(), "[PAGE as First line] Incident #"+s.ID+" S1: Payments API down")
	found := ackLink.FindStringSubmatch(m.Text())
	if found == nil {
		t.Fatalf("no acknowledge link in the mail: %s", m.Text())
	}
	link := html.UnescapeString(found[1])

	// Opening the link (as a mail scanner would) acknowledges nothing.
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mustContain(t, "link page", string(body), "Acknowledge the page", "Payments API down", `<form method="post">`)
	if p := postTextNowAs(t, ctx, l1, page.Id); strings.Contains(p, "Acknowledged by") {
		t.Fatalf("a GET of the link acknowledged the page: %s", p)
	}
	// Its button does, without a session.
	resp, err = http.PostForm(link, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	mustContain(t, "acknowledged", string(body), "You acknowledged the page")
	waitPostAs(t, ctx, l1, page.Id, "Acknowledged by @\u200b"+l1.Username)
	resp, err = http.PostForm(link, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	mustContain(t, "reused link", string(body), "used already")
	// A forged token.
	resp, err = http.Get(link + "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("an altered link: status %d, want 403", resp.StatusCode)
	}

	// The escalation stopped: past the 12 s wait, the incident manager was
	// not paged.
	waitTicks(t, ctx, 3)
	if ps := pagePosts(t, ctx, im, ch.Id, ""); len(ps) != 1 {
		t.Errorf("%d page posts in the rota channel after the acknowledgement, want the first line's only", len(ps))
	}
	mustContain(t, "timeline", cmd(t, l1, s.Channel.Id, "/incident timeline").Text, "sent by email", "acknowledged")
}

// receiver is a page gateway on loopback: it records each request and
// answers with the next status of its script (then 200), holding failing
// answers for hold.
type receiver struct {
	mu     sync.Mutex
	script []int
	hold   time.Duration
	got    []received
}

type received struct {
	at, done time.Time
	header   http.Header
	body     []byte
	status   int
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	at := time.Now()
	rv.mu.Lock()
	status := http.StatusOK
	if len(rv.script) > 0 {
		status, rv.script = rv.script[0], rv.script[1:]
	}
	rv.mu.Unlock()
	if status != http.StatusOK {
		time.Sleep(rv.hold)
	}
	w.WriteHeader(status)
	rv.mu.Lock()
	rv.got = append(rv.got, received{at: at, done: time.Now(), header: r.Header.Clone(), body: b, status: status})
	rv.mu.Unlock()
}

func (rv *receiver) requests() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]received(nil), rv.got...)
}

// A page goes to the first line's webhook as a signed JSON body; a
// gateway that fails (slowly) twice is retried with backoff until it takes
// the page, each try on the timeline, and the chat page never waited for
// it.
func TestPageWebhookIsSignedAndRetried(t *testing.T) {
	ctx := ctxT(t)
	rv := &receiver{script: []int{500, 503}, hold: 2 * time.Second}
	gw := httptest.NewServer(rv)
	defer gw.Close()
	name, l1, _, ch := reachRota(t, ctx, "hook", "now")
	mustContain(t, "unlisted", cmd(t, l1, ch.Id, "/incident notify webhook "+gw.URL+"/page").Text, "internal address")
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"PageWebhookHosts": "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.PatchPluginConfig(context.Background(), pluginID, map[string]any{"PageWebhookHosts": ""})
	})
	var secret string
	harness.Eventually(t, wait, "the webhook accepted once the host is listed", func() (bool, error) {
		r := cmd(t, l1, ch.Id, "/incident notify webhook "+gw.URL+"/page").Text
		if m := regexp.MustCompile("secret \\(shown once\\): `([0-9a-f]+)`").FindStringSubmatch(r); m != nil {
			secret = m[1]
			return true, nil
		}
		return false, nil
	})

	s := start(t, l1, "Ledger lag --severity S1 --rota "+name)
	page := waitPagePost(t, ctx, l1, ch.Id, l1)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway got %d requests; timeline:\n%s", len(rv.requests()), cmd(t, l1, s.Channel.Id, "/incident timeline").Text)
		}
	})
	harness.Eventually(t, 5*time.Second+15*time.Second+2*2*time.Second+wait, "three webhook tries", func() (bool, error) {
		return len(rv.requests()) >= 3, nil
	})
	got := rv.requests()
	if got[0].status != 500 || got[1].status != 503 || got[2].status != 200 {
		t.Fatalf("statuses %d %d %d", got[0].status, got[1].status, got[2].status)
	}
	if posted := time.UnixMilli(page.CreateAt); !posted.Before(got[0].done) {
		t.Errorf("the chat page (%s) came after the gateway's first slow answer (%s)", posted, got[0].done)
	}
	t.Logf("retries after %s and %s (backoff 5 s and 15 s, to the next tick)",
		got[1].at.Sub(got[0].done).Round(100*time.Millisecond), got[2].at.Sub(got[1].done).Round(100*time.Millisecond))
	for i, g := range got {
		ts, _ := strconv.ParseInt(g.header.Get(outbound.HeaderTimestamp), 10, 64)
		if g.header.Get(outbound.HeaderSignature) != outbound.Sign(secret, ts, g.body) {
			t.Errorf("request %d: signature %q does not verify with the secret", i, g.header.Get(outbound.HeaderSignature))
		}
		if g.header.Get(outbound.HeaderDelivery) != got[0].header.Get(outbound.HeaderDelivery) {
			t.Errorf("request %d: delivery %q, want the first's", i, g.header.Get(outbound.HeaderDelivery))
		}
	}
	var b outbound.Body
	if err := json.Unmarshal(got[2].body, &b); err != nil {
		t.Fatal(err)
	}
	if b.Incident.ID != s.ID || b.Incident.Title != "Ledger lag" || b.Page.TargetUsername != l1.Username || b.Page.Role != "l1" || !strings.Contains(b.AcknowledgeURL, "/ack/") {
		t.Errorf("body %+v", b)
	}
	waitCmd(t, l1, s.Channel.Id, "/incident timeline", "failed (try 1): HTTP 500", "failed (try 2): HTTP 503", "sent to their webhook (HTTP 200)")
	cmd(t, l1, s.Channel.Id, "/incident resolve webhook test")
}
