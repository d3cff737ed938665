package app

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// pageRota sets a rota whose weekly members put ann on L1, bob on L2, cat
// on L3, dan on IM and rex on RM, with "rota" as its channel.
func (e *pageEnv) pageRota(t *testing.T) {
	t.Helper()
	_, _, _, err := e.nodes[0].EditRota(ctx, "root", func(v *RotaView, now time.Time) ([]string, error) {
		for role, ids := range chain() {
			if _, err := v.Rota.SetMembers(role, []string{ids}, v.Schedule, now); err != nil {
				return nil, err
			}
		}
		v.Rota.ChannelID = "rota"
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// walk ticks every 5 seconds from the clock's time until end.
func (e *pageEnv) walk(end time.Time) {
	for now := e.clk.now(); !now.After(end); now = now.Add(5 * time.Second) {
		e.tickAt(now)
	}
}

// describe renders sends as "kind:target@minutes" for comparison.
func describe(ss []sent, since time.Time) []string {
	var out []string
	for _, s := range ss {
		out = append(out, fmt.Sprintf("%s:%s@%s", s.notice.Kind, s.target, s.at.Sub(since)))
	}
	return out
}

func TestStartPagesFirstLine(t *testing.T) { forEachStore(t, testStartPagesFirstLine) }

func testStartPagesFirstLine(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	e.pageRota(t)
	inc, err := e.nodes[0].Start(ctx, StartRequest{TeamID: "team", ActorID: "zed", Title: "Checkout failing", Severity: incident.S2})
	if err != nil {
		t.Fatal(err)
	}
	ss := e.pagers[0].sends()
	if len(ss) != 1 || ss[0].target != "ann" || ss[0].notice != (Notice{Number: 1, Kind: NoticePage, Level: 1}) {
		t.Fatalf("sends at start = %+v, want one page to ann", ss)
	}
	p := e.record(t, ss[0].page)
	if p.ChannelID != "rota" || p.By != incident.ActorSystem || p.Target().Role != incident.RoleL1 || len(p.Posts) != 2 || p.Sending != nil {
		t.Errorf("page record = %+v", p)
	}
	// S2 escalates after 10 minutes; re-notification comes first.
	if want := t0.Add(2 * time.Minute); !p.Due.Equal(want) {
		t.Errorf("due %s, want %s", p.Due, want)
	}
	// The entry written with the page stays at the claim's takeover time
	// (no index write after the send); the tick moves it on to the due
	// time then.
	if at, ok := e.entry(t, p.ID); !ok || !at.Equal(t0.Add(work.LeaseTTL)) {
		t.Errorf("due index entry %s, %v; want %s", at, ok, t0.Add(work.LeaseTTL))
	}
	e.tickAt(t0.Add(work.LeaseTTL + time.Second))
	if at, ok := e.entry(t, p.ID); !ok || !at.Equal(p.Due) {
		t.Errorf("due index entry after a tick %s, %v; want %s", at, ok, p.Due)
	}
	evs := e.events(t, inc.ID, incident.EventPaged)
	if len(evs) != 1 || evs[0].Data[incident.DataTarget] != "ann" || evs[0].Data[incident.DataRole] != "l1" ||
		evs[0].Data[incident.DataLevel] != "1" || evs[0].Data[incident.DataPage] != p.ID {
		t.Errorf("paged events = %+v", evs)
	}

	// A severity without escalation pages nobody at start.
	if _, err := e.nodes[0].Start(ctx, StartRequest{TeamID: "team", ActorID: "zed", Title: "Typo on a page", Severity: incident.S4}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.pagers[0].sends()); n != 1 {
		t.Errorf("an S4 start paged: %d sends", n)
	}
}

func TestStartWithoutFirstLinePagesNextInChain(t *testing.T) {
	e := newPageEnv(t, 1)
	inc := e.incident(t, incident.S1, map[incident.Role]string{incident.RoleL3: "cat", incident.RoleIM: "dan"})
	if err := e.nodes[0].pageOnStart(ctx, inc, inc.ID+"-s1"); err != nil {
		t.Fatal(err)
	}
	if ss := e.pagers[0].sends(); len(ss) != 1 || ss[0].target != "cat" {
		t.Fatalf("sends = %+v, want cat (L3) paged", ss)
	}
	// Without a rota channel the page goes to the incident channel.
	if p := e.record(t, e.pagers[0].sends()[0].page); p.ChannelID != inc.ChannelID {
		t.Errorf("page channel %q, want the incident's %q", p.ChannelID, inc.ChannelID)
	}
}

// An unacknowledged S1 page: re-notified every 2 minutes, escalated every
// 5, along L1, L2, L3, IM, and after the IM it keeps re-notifying the IM.
func TestPageEscalatesAlongTheChain(t *testing.T) { forEachStore(t, testPageEscalatesAlongTheChain) }

func testPageEscalatesAlongTheChain(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	inc := e.incident(t, incident.S1, chain())
	if err := e.nodes[0].pageOnStart(ctx, inc, inc.ID+"-s1"); err != nil {
		t.Fatal(err)
	}
	e.walk(t0.Add(24 * time.Minute))
	want := []string{
		"page:ann@0s", "renotify:ann@2m0s", "renotify:ann@4m0s",
		"escalate:bob@5m0s", "renotify:bob@7m0s", "renotify:bob@9m0s",
		"escalate:cat@10m0s", "renotify:cat@12m0s", "renotify:cat@14m0s",
		"escalate:dan@15m0s", "renotify:dan@17m0s", "renotify:dan@19m0s", "renotify:dan@21m0s", "renotify:dan@23m0s",
	}
	got := describe(e.pagers[0].sends(), t0)
	if !slices.Equal(got, want) {
		t.Fatalf("notifications:\n got %v\nwant %v", got, want)
	}
	for i, s := range e.pagers[0].sends() {
		if s.notice.Number != i+1 {
			t.Errorf("notice %d numbered %d", i+1, s.notice.Number)
		}
	}
	var order []string
	for _, ev := range e.events(t, inc.ID, incident.EventPaged, incident.EventPageEscalated) {
		order = append(order, ev.Data[incident.DataRole]+"="+ev.Data[incident.DataTarget]+"@"+ev.Data[incident.DataLevel])
	}
	if want := []string{"l1=ann@1", "l2=bob@2", "l3=cat@3", "im=dan@4"}; !slices.Equal(order, want) {
		t.Errorf("timeline escalation order %v, want %v", order, want)
	}
	if n := len(e.events(t, inc.ID, incident.EventPageRenotified)); n != 10 {
		t.Errorf("%d re-notification events, want 10", n)
	}
	esc := e.events(t, inc.ID, incident.EventPageEscalated)[0]
	if !strings.Contains(esc.Text, "<@ann> did not acknowledge within 5m") {
		t.Errorf("escalation text %q", esc.Text)
	}
	// Each escalation shows on the earlier posts: ann's first post shows
	// all four levels.
	p := e.record(t, e.pagers[0].sends()[0].page)
	if r := e.pagers[0].renders[p.Posts[0].ID]; r == nil || len(r.Targets) != 4 || !r.AckedAt.IsZero() {
		t.Errorf("ann's post shows %+v", r)
	}
	if len(p.Posts) != 8 {
		t.Errorf("%d page posts with a button, want 2 per level", len(p.Posts))
	}
}

func TestPageEscalationSkipsOpenRolesAndRepeats(t *testing.T) {
	e := newPageEnv(t, 1)
	e.setSettings(func(s *Settings) { s.Renotify = 0 })
	// L2 open, L3 is the first line again (an admin allowed it): both are
	// skipped.
	inc := e.incident(t, incident.S1, map[incident.Role]string{incident.RoleL1: "ann", incident.RoleL3: "ann", incident.RoleIM: "dan"})
	if err := e.nodes[0].pageOnStart(ctx, inc, inc.ID+"-s1"); err != nil {
		t.Fatal(err)
	}
	e.walk(t0.Add(20 * time.Minute))
	if got, want := describe(e.pagers[0].sends(), t0), []string{"page:ann@0s", "escalate:dan@5m0s"}; !slices.Equal(got, want) {
		t.Fatalf("notifications %v, want %v", got, want)
	}
	// At the IM, with no re-notification, nothing is left to do: no timer.
	p := e.record(t, e.pagers[0].sends()[0].page)
	if !p.Due.IsZero() || !p.Pending() {
		t.Errorf("page at the IM without re-notify: due %s, pending %v", p.Due, p.Pending())
	}
	if _, ok := e.entry(t, p.ID); ok {
		t.Errorf("a page with nothing to do keeps its timer")
	}
}

func TestPageByNameAndRole(t *testing.T) {
	e := newPageEnv(t, 1)
	e.setSettings(func(s *Settings) { s.Renotify = 0 })
	inc := e.incident(t, incident.S1, chain())
	a := e.nodes[0]
	// Someone outside the chain escalates to the incident manager.
	sme, err := a.Page(ctx, inc, PageRequest{Actor: "dan", User: "sam", Message: "need the DBA @channel"})
	if err != nil {
		t.Fatal(err)
	}
	if tg := sme.Target(); tg.UserID != "sam" || tg.Role != "" || tg.Pos != -1 || sme.Message != "need the DBA @channel" || sme.By != "dan" {
		t.Errorf("page by name = %+v", sme)
	}
	// A role's holder escalates from that role on.
	l2, err := a.Page(ctx, inc, PageRequest{Actor: "dan", Role: incident.RoleL2})
	if err != nil {
		t.Fatal(err)
	}
	// Paging the release manager by name pages them for their role.
	rm, err := a.Page(ctx, inc, PageRequest{Actor: "dan", User: "rex"})
	if err != nil || rm.Target().Role != incident.RoleRM {
		t.Fatalf("page rex: %+v, %v", rm, err)
	}
	e.walk(t0.Add(20 * time.Minute))
	byPage := map[string][]string{}
	for _, s := range e.pagers[0].sends() {
		byPage[s.page] = append(byPage[s.page], s.target)
	}
	for id, want := range map[string][]string{sme.ID: {"sam", "dan"}, l2.ID: {"bob", "cat", "dan"}, rm.ID: {"rex", "dan"}} {
		if !slices.Equal(byPage[id], want) {
			t.Errorf("page %s went to %v, want %v", id, byPage[id], want)
		}
	}
	ev := e.events(t, inc.ID, incident.EventPaged)[0]
	if ev.Actor != "dan" || !strings.Contains(ev.Text, "need the DBA") {
		t.Errorf("paged event %+v", ev)
	}
}

func TestPageRefusals(t *testing.T) {
	e := newPageEnv(t, 1)
	a := e.nodes[0]
	inc := e.incident(t, incident.S2, map[incident.Role]string{incident.RoleL1: "ann"})
	if _, err := a.Page(ctx, inc, PageRequest{Actor: "dan", Role: incident.RoleL3}); incident.KindOf(err) != incident.KindConflict ||
		!strings.Contains(incident.UserMessage(err), "nobody holds Third line") {
		t.Errorf("paging an open role: %v", err)
	}
	if _, err := a.Page(ctx, inc, PageRequest{Actor: "dan", User: "ann", Message: strings.Repeat("x", MaxPageMessageRunes+1)}); incident.KindOf(err) != incident.KindInvalid {
		t.Errorf("an overlong message: %v", err)
	}
	res, err := e.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error {
		_, err := i.Resolve(t0, "dan", "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Page(ctx, res, PageRequest{Actor: "dan", User: "ann"}); incident.KindOf(err) != incident.KindConflict {
		t.Errorf("paging on a resolved incident: %v", err)
	}
	if n := len(e.pagers[0].sends()); n != 0 {
		t.Errorf("refused pages sent %d notifications", n)
	}
}

// An acknowledgement stops everything: no re-notification, no escalation,
// the timer is gone, and every post shows who acknowledged and when.
func TestAcknowledgeStopsThePage(t *testing.T) { forEachStore(t, testAcknowledgeStopsThePage) }

func testAcknowledgeStopsThePage(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	inc := e.incident(t, incident.S1, chain())
	if err := e.nodes[0].pageOnStart(ctx, inc, inc.ID+"-s1"); err != nil {
		t.Fatal(err)
	}
	e.walk(t0.Add(6 * time.Minute)) // escalated to bob at 5m
	id := e.pagers[0].sends()[0].page

	ackAt := t0.Add(6*time.Minute + 30*time.Second)
	e.clk.set(ackAt)
	p, err := e.nodes[0].AcknowledgePage(ctx, "ann", id) // an earlier level's target may acknowledge
	if err != nil {
		t.Fatal(err)
	}
	if !p.AckedAt.Equal(ackAt) || p.AckedBy != "ann" || p.Sending != nil {
		t.Errorf("acknowledged page = %+v", p)
	}
	if rec := e.record(t, id); !rec.Due.IsZero() || rec.AckPending || rec.AckLease.Held() {
		t.Errorf("acknowledgement's follow-up not done: %+v", rec)
	}
	before := len(e.pagers[0].sends())
	e.walk(t0.Add(2 * time.Hour))
	if after := len(e.pagers[0].sends()); after != before {
		t.Errorf("%d notifications after the acknowledgement", after-before)
	}
	if _, ok := e.entry(t, id); ok {
		t.Error("the acknowledged page keeps its timer")
	}
	rec := e.record(t, id)
	for _, pp := range rec.Posts {
		if r := e.pagers[0].renders[pp.ID]; r == nil || r.AckedBy != "ann" || !r.AckedAt.Equal(ackAt) {
			t.Errorf("post %s (level %d, dm %v) shows %+v", pp.ID, pp.Level, pp.DM, r)
		}
	}
	acks := e.events(t, inc.ID, incident.EventPageAcknowledged)
	if len(acks) != 1 || acks[0].Actor != "ann" || acks[0].Data[incident.DataLevel] != "2" || acks[0].Data[incident.DataTarget] != "bob" {
		t.Errorf("acknowledgement events %+v", acks)
	}

	// Again: nothing changes, the caller learns who did it.
	e.clk.set(ackAt.Add(time.Minute))
	again, err := e.nodes[0].AcknowledgePage(ctx, "bob", id)
	if !errors.Is(err, ErrPageAlreadyAcknowledged) || again.AckedBy != "ann" || !again.AckedAt.Equal(ackAt) {
		t.Errorf("second acknowledgement: %v, %+v", err, again)
	}
	if n := len(e.events(t, inc.ID, incident.EventPageAcknowledged)); n != 1 {
		t.Errorf("%d acknowledgement events after a second click", n)
	}
}

func TestAcknowledgeRefusals(t *testing.T) {
	e := newPageEnv(t, 1)
	e.pageRota(t)
	inc := e.incident(t, incident.S1, chain())
	a := e.nodes[0]
	p, err := a.Page(ctx, inc, PageRequest{Actor: "dan", Role: incident.RoleL1})
	if err != nil {
		t.Fatal(err)
	}
	rev := e.record(t, p.ID).Revision
	// Not paged: refused, even for someone on the rota (the setting is off).
	for _, who := range []string{"mallory", "bob"} {
		_, err := a.AcknowledgePage(ctx, who, p.ID)
		if incident.KindOf(err) != incident.KindForbidden || !strings.Contains(incident.UserMessage(err), "only the people this page went to (<@ann>)") {
			t.Errorf("%s acknowledging: %v", who, err)
		}
	}
	if r := e.record(t, p.ID); r.Revision != rev || !r.AckedAt.IsZero() {
		t.Errorf("a refused acknowledgement changed the page: %+v", r)
	}
	for _, bad := range []string{"", "x", "../rota", "page/v1/due/0", strings.Repeat("a", 81)} {
		if _, err := a.AcknowledgePage(ctx, "ann", bad); incident.KindOf(err) != incident.KindInvalid {
			t.Errorf("malformed id %q: %v", bad, err)
		}
	}
	if _, err := a.AcknowledgePage(ctx, "ann", "i0001-nosuch"); incident.KindOf(err) != incident.KindNotFound {
		t.Errorf("unknown page: %v", err)
	}

	// With AnyRotaMemberMayAck, rota members may; others still may not.
	e.setSettings(func(s *Settings) { s.AnyRotaMemberMayAck = true })
	if _, err := a.AcknowledgePage(ctx, "mallory", p.ID); incident.KindOf(err) != incident.KindForbidden ||
		!strings.Contains(incident.UserMessage(err), "or people on the rota") {
		t.Errorf("a stranger with AnyRotaMemberMayAck: %v", err)
	}
	if got, err := a.AcknowledgePage(ctx, "rex", p.ID); err != nil || got.AckedBy != "rex" {
		t.Errorf("a rota member's acknowledgement: %+v, %v", got, err)
	}
}

func TestPageClosedWhenTheIncidentIsResolved(t *testing.T) {
	forEachStore(t, testPageClosedWhenTheIncidentIsResolved)
}

func testPageClosedWhenTheIncidentIsResolved(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	inc := e.incident(t, incident.S1, chain())
	if err := e.nodes[0].pageOnStart(ctx, inc, inc.ID+"-s1"); err != nil {
		t.Fatal(err)
	}
	id := e.pagers[0].sends()[0].page
	if _, err := e.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) error {
		_, err := i.Resolve(t0.Add(time.Minute), "dan", "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.walk(t0.Add(30 * time.Minute))
	if n := len(e.pagers[0].sends()); n != 1 {
		t.Errorf("%d notifications, want only the page itself", n)
	}
	p := e.record(t, id)
	if p.ClosedAt.IsZero() || p.Pending() || !strings.Contains(p.ClosedWhy, "resolved") {
		t.Errorf("page after resolution = %+v", p)
	}
	if r := e.pagers[0].renders[p.Posts[0].ID]; r == nil || r.ClosedAt.IsZero() {
		t.Errorf("post shows %+v, want closed", r)
	}
	if _, err := e.nodes[0].AcknowledgePage(ctx, "ann", id); incident.KindOf(err) != incident.KindConflict {
		t.Errorf("acknowledging a closed page: %v", err)
	}
	if n := len(e.events(t, inc.ID, incident.EventPageClosed)); n != 1 {
		t.Errorf("%d closed events", n)
	}
}

func TestPageWithoutEscalationStillRenotifies(t *testing.T) {
	e := newPageEnv(t, 1)
	inc := e.incident(t, incident.S4, chain()) // S4: AckTimeout 0
	if _, err := e.nodes[0].Page(ctx, inc, PageRequest{Actor: "dan", Role: incident.RoleL1}); err != nil {
		t.Fatal(err)
	}
	e.walk(t0.Add(7 * time.Minute))
	if got, want := describe(e.pagers[0].sends(), t0), []string{"page:ann@0s", "renotify:ann@2m0s", "renotify:ann@4m0s", "renotify:ann@6m0s"}; !slices.Equal(got, want) {
		t.Errorf("notifications %v, want %v", got, want)
	}
}

// A notification that reached nobody is retried after sendRetry, as new
// posts rather than replies.
func TestFailedNotificationIsRetried(t *testing.T) { forEachStore(t, testFailedNotificationIsRetried) }

func testFailedNotificationIsRetried(t *testing.T, s storeKind) {
	e := newPageEnvOn(t, s, 1)
	e.setSettings(func(s *Settings) { s.Renotify = 0 })
	inc := e.incident(t, incident.S3, chain())
	e.pagers[0].failNext = 1
	p, err := e.nodes[0].Page(ctx, inc, PageRequest{Actor: "dan", Role: incident.RoleL1})
	if err != nil {
		t.Fatal(err)
	}
	if !p.LastFailed || !p.Due.Equal(t0.Add(sendRetry)) {
		t.Fatalf("after a failed page: %+v", p)
	}
	e.walk(t0.Add(time.Minute))
	if got, want := describe(e.pagers[0].sends(), t0), []string{"renotify:ann@30s"}; !slices.Equal(got, want) {
		t.Errorf("notifications %v, want %v", got, want)
	}
	if r := e.record(t, p.ID); len(r.Posts) != 2 || r.LastFailed || !r.Due.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("after the retry: %+v", r)
	}
}
