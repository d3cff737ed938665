package app

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// setEscalation sets the first rota's escalation policy.
func (e *pageEnv) setEscalation(t *testing.T, pol rota.Escalation) {
	t.Helper()
	_, _, _, err := e.nodes[0].EditRota(ctx, "root", func(v *RotaView, _ time.Time) ([]string, error) {
		v.Rota.Escalation = pol
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRotaPolicyRepeatsTheChainThenPagesEveryone: the rota's waits replace
// the settings'; unanswered, the chain runs twice (repeat 1), then every
// member of the rota is paged, one right after another; then nobody more.
func TestRotaPolicyRepeatsTheChainThenPagesEveryone(t *testing.T) {
	e := newPageEnv(t, 1)
	e.pageRota(t)
	e.setSettings(func(s *Settings) { s.Renotify = 0 })
	e.setEscalation(t, rota.Escalation{Timeouts: map[incident.Severity]time.Duration{incident.S1: 3 * time.Minute}, Repeat: 1, Last: rota.LastAll})
	inc := e.incident(t, incident.S1, map[incident.Role]string{incident.RoleL1: "ann", incident.RoleL2: "bob", incident.RoleIM: "dan"})
	if err := e.nodes[0].pageOnStart(ctx, inc, inc.ID+"-s1"); err != nil {
		t.Fatal(err)
	}
	e.walk(t0.Add(40 * time.Minute))
	want := []string{
		"page:ann@0s", "escalate:bob@3m0s", "escalate:dan@6m0s", // L3 open: skipped
		"escalate:ann@9m0s", "escalate:bob@12m0s", "escalate:dan@15m0s", // the second run
		// The last step: every member of the rota, in chain order, then
		// the release manager, at once (a tick apart).
		"escalate:ann@18m0s", "escalate:bob@18m5s", "escalate:cat@18m10s", "escalate:dan@18m15s", "escalate:rex@18m20s",
	}
	if got := describe(e.pagers[0].sends(), t0); !slices.Equal(got, want) {
		t.Fatalf("notifications:\n got %v\nwant %v", got, want)
	}
	var texts []string
	for _, ev := range e.events(t, inc.ID, incident.EventPageEscalated) {
		texts = append(texts, ev.Text)
	}
	if !strings.Contains(texts[2], "run 2 of the chain") || !strings.Contains(texts[5], "the policy's last step") {
		t.Errorf("escalation texts:\n%s", strings.Join(texts, "\n"))
	}
	// Everyone paged may acknowledge.
	p := e.record(t, e.pagers[0].sends()[0].page)
	if _, err := e.nodes[0].AcknowledgePage(ctx, "rex", p.ID); err != nil {
		t.Errorf("the last step's release manager cannot acknowledge: %v", err)
	}
}

// TestRotaPolicyWaitOffPagesNobody: a rota whose wait for a severity is
// off does not page its incidents of that severity at the start.
func TestRotaPolicyWaitOffPagesNobody(t *testing.T) {
	e := newPageEnv(t, 1)
	e.pageRota(t)
	e.setEscalation(t, rota.Escalation{Timeouts: map[incident.Severity]time.Duration{incident.S1: 0}})
	inc := e.incident(t, incident.S1, chain())
	if err := e.nodes[0].pageOnStart(ctx, inc, inc.ID+"-s1"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.pagers[0].sends()); n != 0 {
		t.Errorf("%d notifications for a severity the rota does not page", n)
	}
}
