package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// stormWindow is how long a storm's notifications take to send: the first
// of each group in the first half, the repeats spread over the rest.
const stormWindow = 28 * time.Second

// notificationsPerGroup is how many notifications each alert group sends.
const notificationsPerGroup = 10

// storms runs one storm per size on the same server, one after the other.
func (b *bench) storms(ctx context.Context, r *report, sizes []int) error {
	for _, groups := range sizes {
		if groups <= 0 {
			continue
		}
		if err := b.storm(ctx, r, groups); err != nil {
			return err
		}
	}
	return nil
}

// stormGroup is what one alert group's deliveries saw.
type stormGroup struct {
	name, fingerprint string
	first             time.Time       // when its first notification was sent
	incidents         map[string]bool // incident ids the replies named
	opened, attached  int             // as the replies counted them
	failures          []string        // non-200 replies
	pages             map[string]bool // page ids seen for its incident
	firstPage         time.Time       // when the first page post was seen
	mu                sync.Mutex
}

// stormMail: the storms send pages by email too (flag -storm-mail).
var stormMail bool

// mailPages has the first line's pages also go by email, through an SMTP
// sink on loopback that the server mails through, so the storm measures
// how long a page takes to leave the chat too (the rota's default policy
// sends at once).
func (b *bench) mailPages(ctx context.Context) (*harness.SMTPSink, func(), error) {
	if !stormMail {
		return nil, func() {}, nil
	}
	sink, err := harness.StartSMTPSink()
	if err != nil {
		return nil, nil, err
	}
	undo, err := b.srv.UseSMTP(ctx, sink)
	if err != nil {
		sink.Close()
		return nil, nil, err
	}
	if _, err := b.expect(ctx, b.holders["l1"], b.broadcast.Id, "/incident notify email on", "email address"); err != nil {
		// A bundle from before pages left the chat: measure without.
		undo()
		sink.Close()
		return nil, func() {}, nil
	}
	return sink, func() { undo(); sink.Close() }, nil
}

func (b *bench) storm(ctx context.Context, r *report, n int) error {
	sink, done, err := b.mailPages(ctx)
	if err != nil {
		return err
	}
	defer done()
	run := b.seq.Add(1)
	groups := make([]*stormGroup, n)
	for g := range groups {
		groups[g] = &stormGroup{name: fmt.Sprintf("Storm%dGroup%d", run, g), fingerprint: fmt.Sprintf("%08x%08x", run, g),
			incidents: map[string]bool{}, pages: map[string]bool{}}
	}
	byIncident := sync.Map{} // incident id -> *stormGroup
	l1 := b.holders["l1"]
	w, err := b.srv.Watch(ctx, l1)
	if err != nil {
		return err
	}
	defer w.Close()
	pageSeen := func(s harness.Seen) bool {
		if s.Kind != model.WebsocketEventPosted || s.Post.UserId != b.botID || !isPage(s.Post, "") {
			return false
		}
		pageID, _ := s.Post.GetProp("page_id").(string)
		id := pageID[:strings.Index(pageID, "-")]
		v, ok := byIncident.Load(id)
		if !ok {
			return false
		}
		g := v.(*stormGroup)
		g.mu.Lock()
		defer g.mu.Unlock()
		g.pages[pageID] = true
		if g.firstPage.IsZero() {
			g.firstPage = s.At
		}
		return true
	}
	mark := w.Mark()

	var webhook sample
	var wg sync.WaitGroup
	t0 := time.Now()
	for g, grp := range groups {
		firstAt := time.Duration(g) * (stormWindow / 2) / time.Duration(n)
		for k := range notificationsPerGroup {
			at := firstAt
			if k > 0 {
				at += time.Duration(k) * (stormWindow / 2) / notificationsPerGroup
			}
			senders := 1
			if k == 0 {
				senders = 2 // two Alertmanagers racing on the first
			}
			for range senders {
				wg.Go(func() {
					if err := sleep(ctx, time.Until(t0.Add(at))); err != nil {
						return
					}
					sent := time.Now()
					if k == 0 {
						grp.mu.Lock()
						if grp.first.IsZero() || sent.Before(grp.first) {
							grp.first = sent
						}
						grp.mu.Unlock()
					}
					code, res, err := b.sendAlert(ctx, grp)
					webhook.add(time.Since(sent))
					grp.mu.Lock()
					defer grp.mu.Unlock()
					if err != nil || code != http.StatusOK {
						grp.failures = append(grp.failures, fmt.Sprintf("%d %v %v", code, err, res["error"]))
						return
					}
					grp.opened += int(num(res["opened"]))
					grp.attached += int(num(res["attached"]))
					ids, _ := res["incidents"].([]any)
					for _, id := range ids {
						s, _ := id.(string)
						grp.incidents[s] = true
						byIncident.Store(s, grp)
					}
				})
			}
		}
	}
	wg.Wait()
	sentIn := time.Since(t0)
	// Pages are posted by the follow-up of each start: wait until every
	// group's incident has one.
	pending := func() int {
		for _, s := range w.Since(mark) {
			pageSeen(s)
		}
		mark = w.Mark()
		missing := 0
		for _, g := range groups {
			g.mu.Lock()
			if len(g.pages) == 0 {
				missing++
			}
			g.mu.Unlock()
		}
		return missing
	}
	_ = waitFor(ctx, 2*time.Minute, 100*time.Millisecond, func() (bool, error) { return pending() == 0, nil })
	// Late duplicates would show up now, if there were any.
	_ = sleep(ctx, 3*time.Second)
	pending()

	// Each group's mail: its subject names its incident.
	mailOf := func(g *stormGroup) (harness.Mail, bool) {
		if sink == nil {
			return harness.Mail{}, false
		}
		for id := range g.incidents {
			for _, m := range sink.Mails() {
				if strings.Contains(m.Subject(), "#"+id) {
					return m, true
				}
			}
		}
		return harness.Mail{}, false
	}
	_ = waitFor(ctx, 2*time.Minute, 250*time.Millisecond, func() (bool, error) {
		for _, g := range groups {
			if sink == nil {
				break
			}
			if _, ok := mailOf(g); !ok {
				return false, nil
			}
		}
		return true, nil
	})
	var toMail sample
	noMail := 0
	for _, g := range groups {
		if m, ok := mailOf(g); ok {
			toMail.add(m.At.Sub(g.first))
		} else {
			noMail++
		}
	}

	var toPage sample
	var badIncidents, badPages, failed, missingRepeats int
	for _, g := range groups {
		if len(g.incidents) != 1 || g.opened != 1 {
			badIncidents++
			continue
		}
		if len(g.pages) != 1 {
			badPages++
		}
		failed += len(g.failures)
		if !g.firstPage.IsZero() {
			toPage.add(g.firstPage.Sub(g.first))
		}
		var id string
		for id = range g.incidents {
		}
		text, err := b.timelineText(ctx, id)
		if err != nil {
			return err
		}
		if got := strings.Count(text, "Alert firing again"); got != notificationsPerGroup { // the racing twin attaches too
			missingRepeats++
		}
	}
	r.add(fmt.Sprintf("%d groups: webhook median / p99", n), "%s, all sent in %s", webhook.summary(), sentIn.Round(time.Millisecond))
	r.add(fmt.Sprintf("%d groups: alert → first page post, median / p99", n), "%s", toPage.summary())
	r.add(fmt.Sprintf("%d groups: alert → page email accepted by the SMTP server, median / p99", n), "%s (%d without a mail)", toMail.summary(), noMail)
	r.add(fmt.Sprintf("%d groups: groups with other than one incident / one page / all repeats attached", n), "%d / %d / %d", badIncidents, badPages, missingRepeats)
	r.add(fmt.Sprintf("%d groups: failed deliveries", n), "%d", failed)
	for _, g := range groups {
		for _, f := range g.failures {
			r.note("%s: %s", g.name, f)
			break
		}
	}
	return nil
}

// sendAlert posts one firing notification of the group's alert.
func (b *bench) sendAlert(ctx context.Context, g *stormGroup) (int, map[string]any, error) {
	body, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": "{}:{alertname=\"" + g.name + "\"}", "receiver": "incident-bot", "status": "firing",
		"groupLabels":  map[string]string{"alertname": g.name},
		"commonLabels": map[string]string{"alertname": g.name, "severity": "high"},
		"alerts": []map[string]any{{
			"status": "firing", "fingerprint": g.fingerprint,
			"labels":      map[string]string{"alertname": g.name, "severity": "high", "instance": "web-1:9100"},
			"annotations": map[string]string{"summary": g.name + " on web-1"},
			"startsAt":    time.Now().UTC().Format(time.RFC3339), "endsAt": "0001-01-01T00:00:00Z",
		}},
	})
	url := b.srv.URL + "/plugins/" + pluginID + "/api/v1/alerts?source=alertmanager"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Incident-Token", alertToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, nil
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
