package hotfix

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// t0 is deliberately not UTC: everything stored must be.
var t0 = time.Date(2026, 3, 29, 9, 30, 0, 0, time.FixedZone("CET", 3600))

const (
	incID  = "abc123"
	fixer  = "fixer"
	rm     = "rm"
	alice  = "alice"
	bob    = "bob"
	carol  = "carol"
	dave   = "dave"
	qa     = "qa"
	supp   = "support"
	system = incident.ActorSystem
)

// stdGroups: the fixer is in qa, bob in both groups.
func stdGroups(t *testing.T) *Groups {
	return groupsOf(t, map[string][]string{qa: {alice, bob, fixer}, supp: {carol, bob}})
}

func request() Request {
	return Request{IncidentID: incID, Description: "  roll back the index change  ", RequestedBy: fixer, At: t0, Groups: []string{qa, supp}}
}

// opened returns a book holding one freshly opened hotfix made by fixer,
// released by rm and signed off by qa and support.
func opened(t *testing.T) (*Book, *Hotfix) {
	t.Helper()
	h, err := New(request())
	if err != nil {
		t.Fatal(err)
	}
	h.ReleaseManager = rm
	b := &Book{}
	if err := b.Open(h); err != nil {
		t.Fatal(err)
	}
	return b, h
}

func mustSign(t *testing.T, h *Hotfix, at time.Time, user, group string, g *Groups) []incident.Event {
	t.Helper()
	evs, err := h.Sign(at, user, group, true, "", g)
	if err != nil {
		t.Fatalf("%s signs %s: %v", user, group, err)
	}
	return evs
}

// readyHotfix is signed off in staging by alice (qa) and carol (support).
func readyHotfix(t *testing.T, g *Groups) *Hotfix {
	t.Helper()
	_, h := opened(t)
	mustSign(t, h, t0.Add(time.Minute), alice, qa, g)
	mustSign(t, h, t0.Add(2*time.Minute), carol, supp, g)
	if h.Status != StatusReady {
		t.Fatalf("status = %s, want ready", h.Status)
	}
	return h
}

func verifyingHotfix(t *testing.T, g *Groups) *Hotfix {
	t.Helper()
	h := readyHotfix(t, g)
	if _, err := h.Deploy(t0.Add(3*time.Minute), rm); err != nil {
		t.Fatal(err)
	}
	return h
}

func doneHotfix(t *testing.T, g *Groups) *Hotfix {
	t.Helper()
	h := verifyingHotfix(t, g)
	mustSign(t, h, t0.Add(4*time.Minute), bob, qa, g)
	mustSign(t, h, t0.Add(5*time.Minute), carol, supp, g)
	if h.Status != StatusDone {
		t.Fatalf("status = %s, want done", h.Status)
	}
	return h
}

func rejectedHotfix(t *testing.T, g *Groups) *Hotfix {
	t.Helper()
	_, h := opened(t)
	if _, err := h.Sign(t0.Add(time.Minute), alice, qa, false, "login fails", g); err != nil {
		t.Fatal(err)
	}
	return h
}

func cancelledHotfix(t *testing.T, _ *Groups) *Hotfix {
	t.Helper()
	_, h := opened(t)
	if _, err := h.Cancel(t0.Add(time.Minute), fixer, ""); err != nil {
		t.Fatal(err)
	}
	return h
}

// checkEvent fails t unless ev has the type, actor, time and text given and
// exactly the data given.
func checkEvent(t *testing.T, ev incident.Event, typ incident.EventType, actor string, at time.Time, text string, data map[string]string) {
	t.Helper()
	if ev.Type != typ || ev.Actor != actor || ev.Text != text {
		t.Errorf("event = %s by %q text %q; want %s by %q text %q", ev.Type, ev.Actor, ev.Text, typ, actor, text)
	}
	if !ev.At.Equal(at) || ev.At.Location() != time.UTC {
		t.Errorf("%s event at %v, want %v in UTC", ev.Type, ev.At, at.UTC())
	}
	if !reflect.DeepEqual(ev.Data, data) {
		t.Errorf("%s event data = %v, want %v", ev.Type, ev.Data, data)
	}
}

func TestNew(t *testing.T) {
	h, err := New(request())
	if err != nil {
		t.Fatal(err)
	}
	if h.Description != "roll back the index change" {
		t.Errorf("description = %q, want it trimmed", h.Description)
	}
	if h.IncidentID != incID || h.RequestedBy != fixer || h.Author != fixer {
		t.Errorf("incident %q, requested by %q, author %q", h.IncidentID, h.RequestedBy, h.Author)
	}
	if !h.RequestedAt.Equal(t0) || h.RequestedAt.Location() != time.UTC {
		t.Errorf("RequestedAt = %v, want %v in UTC", h.RequestedAt, t0)
	}
	if !reflect.DeepEqual(h.Groups, []string{qa, supp}) {
		t.Errorf("groups = %v", h.Groups)
	}
	if h.N != 0 || h.ReleaseManager != "" || h.Status != "" || len(h.Signoffs) != 0 {
		t.Errorf("New filled in more than the request: %+v", h)
	}

	r := request()
	r.Author = dave
	h, err = New(r)
	if err != nil || h.Author != dave || h.RequestedBy != fixer {
		t.Fatalf("named author: %v, author %q, requested by %q", err, h.Author, h.RequestedBy)
	}
	r.Groups[0] = "mutated"
	if h.Groups[0] != qa {
		t.Errorf("New keeps the request's groups slice: %v", h.Groups)
	}

	for _, desc := range []string{"", "   ", "\n\t"} {
		r := request()
		r.Description = desc
		h, err := New(r)
		wantKind(t, err, incident.KindInvalid, "describe the fix")
		if h != nil {
			t.Errorf("New(%q) returned a hotfix with the error", desc)
		}
	}

	r = request()
	r.Description = strings.Repeat("é", MaxDescriptionRunes)
	if h, err := New(r); err != nil || h.Description != r.Description {
		t.Errorf("a description of exactly %d runes: %v", MaxDescriptionRunes, err)
	}
	r.Description += "x"
	_, err = New(r)
	wantKind(t, err, incident.KindInvalid)
}

func TestRequestedEvent(t *testing.T) {
	_, h := opened(t)
	checkEvent(t, h.Requested(), incident.EventHotfixRequested, fixer, t0, "roll back the index change", map[string]string{
		incident.DataHotfix: "1", incident.DataAuthor: fixer, incident.DataRM: rm, incident.DataGroups: "qa,support",
	})

	h.Author, h.ReleaseManager, h.RMNote = dave, carol, SubstituteNote(fixer, carol)
	h.N = 12
	checkEvent(t, h.Requested(), incident.EventHotfixRequested, fixer, t0, "roll back the index change", map[string]string{
		incident.DataHotfix: "12", incident.DataAuthor: dave, incident.DataRM: carol, incident.DataGroups: "qa,support",
		incident.DataWhy: "<@fixer> made the fix and may not release it (four eyes); <@carol> is the next release manager on the rota",
	})

	h.ReleaseManager, h.RMNote, h.Groups = "", "", []string{qa}
	checkEvent(t, h.Requested(), incident.EventHotfixRequested, fixer, t0, "roll back the index change", map[string]string{
		incident.DataHotfix: "12", incident.DataAuthor: dave, incident.DataRM: "", incident.DataGroups: "qa",
	})
}

func TestHappyPath(t *testing.T) {
	g := stdGroups(t)
	b, h := opened(t)
	if h.N != 1 || h.Status != StatusStaging || h.Stage() != StageStaging || !h.Active() || b.Active() != h {
		t.Fatalf("opened: n %d status %s stage %q", h.N, h.Status, h.Stage())
	}
	if w := h.Waiting(StageStaging); !reflect.DeepEqual(w, []string{qa, supp}) {
		t.Fatalf("waiting = %v", w)
	}

	// qa approves staging: one event, still staging.
	t1 := t0.Add(time.Minute)
	evs := mustSign(t, h, t1, alice, qa, g)
	if len(evs) != 1 {
		t.Fatalf("first approval: %d events, want 1 (no stage done yet)", len(evs))
	}
	checkEvent(t, evs[0], incident.EventHotfixSigned, alice, t1, "", map[string]string{
		incident.DataHotfix: "1", incident.DataStage: incident.StageStaging, incident.DataGroup: qa, incident.DataVerdict: incident.VerdictApproved,
	})
	if h.Status != StatusStaging {
		t.Fatalf("status after one of two approvals = %s", h.Status)
	}
	if w := h.Waiting(StageStaging); !reflect.DeepEqual(w, []string{supp}) {
		t.Fatalf("waiting = %v, want [support]", w)
	}
	s, ok := h.Signoff(StageStaging, qa)
	if !ok || s != (Signoff{Stage: StageStaging, Group: qa, UserID: alice, Approved: true, At: t1.UTC()}) {
		t.Fatalf("qa's staging sign-off = %+v, %v", s, ok)
	}
	if s.At.Location() != time.UTC {
		t.Errorf("sign-off time %v is not UTC", s.At)
	}
	if _, ok := h.Signoff(StageAfterDeploy, qa); ok {
		t.Error("a staging sign-off counts for after deploy")
	}

	// Deploy before staging is signed off names who it waits for.
	_, err := h.Deploy(t1, rm)
	wantKind(t, err, incident.KindConflict, "not signed off in staging", "waiting for support")
	if h.Status != StatusStaging || !h.DeployedAt.IsZero() {
		t.Fatalf("a refused deploy changed the hotfix: %s %v", h.Status, h.DeployedAt)
	}

	// support approves: the stage is done.
	t2 := t0.Add(2 * time.Minute)
	evs = mustSign(t, h, t2, carol, supp, g)
	if len(evs) != 2 {
		t.Fatalf("last approval: %d events, want 2", len(evs))
	}
	checkEvent(t, evs[0], incident.EventHotfixSigned, carol, t2, "", map[string]string{
		incident.DataHotfix: "1", incident.DataStage: incident.StageStaging, incident.DataGroup: supp, incident.DataVerdict: incident.VerdictApproved,
	})
	checkEvent(t, evs[1], incident.EventHotfixStageDone, system, t2, "", map[string]string{
		incident.DataHotfix: "1", incident.DataStage: incident.StageStaging,
	})
	if h.Status != StatusReady || h.Stage() != "" || !h.Active() || len(h.Waiting(StageStaging)) != 0 {
		t.Fatalf("after staging: status %s stage %q", h.Status, h.Stage())
	}
	if !h.DoneAt.IsZero() {
		t.Error("DoneAt set after staging")
	}

	// Only the release manager deploys.
	for _, who := range []string{alice, carol, bob, ""} {
		_, err := h.Deploy(t2, who)
		wantKind(t, err, incident.KindForbidden, "only the release manager", "<@rm>")
	}
	_, err = h.Deploy(t2, fixer)
	wantKind(t, err, incident.KindForbidden, "you made this fix, so you may not release it (four eyes)", "<@rm>")
	if h.Status != StatusReady {
		t.Fatalf("refused deploys changed the status to %s", h.Status)
	}
	t3 := t0.Add(3 * time.Minute)
	ev, err := h.Deploy(t3, rm)
	if err != nil {
		t.Fatal(err)
	}
	checkEvent(t, ev, incident.EventHotfixDeployed, rm, t3, "", map[string]string{incident.DataHotfix: "1"})
	if h.Status != StatusVerifying || h.Stage() != StageAfterDeploy || !h.DeployedAt.Equal(t3) || h.DeployedAt.Location() != time.UTC || h.DeployedBy != rm {
		t.Fatalf("after deploy: status %s stage %q at %v by %q", h.Status, h.Stage(), h.DeployedAt, h.DeployedBy)
	}
	_, err = h.Deploy(t3, rm)
	wantKind(t, err, incident.KindConflict, "cannot be deployed now")
	if w := h.Waiting(StageAfterDeploy); !reflect.DeepEqual(w, []string{qa, supp}) {
		t.Fatalf("after-deploy waiting = %v", w)
	}

	// After deploy: bob signs qa (he did not sign staging), carol signs
	// support again (same group, next stage).
	t4 := t0.Add(4 * time.Minute)
	evs = mustSign(t, h, t4, carol, supp, g)
	if len(evs) != 1 || h.Status != StatusVerifying {
		t.Fatalf("first after-deploy approval: %d events, status %s", len(evs), h.Status)
	}
	checkEvent(t, evs[0], incident.EventHotfixSigned, carol, t4, "", map[string]string{
		incident.DataHotfix: "1", incident.DataStage: incident.StageAfterDeploy, incident.DataGroup: supp, incident.DataVerdict: incident.VerdictApproved,
	})
	t5 := t0.Add(5 * time.Minute)
	evs = mustSign(t, h, t5, bob, qa, g)
	if len(evs) != 2 {
		t.Fatalf("last after-deploy approval: %d events, want 2", len(evs))
	}
	checkEvent(t, evs[1], incident.EventHotfixStageDone, system, t5, "", map[string]string{
		incident.DataHotfix: "1", incident.DataStage: incident.StageAfterDeploy,
	})
	if h.Status != StatusDone || h.Active() || h.Stage() != "" || !h.DoneAt.Equal(t5) || h.DoneAt.Location() != time.UTC {
		t.Fatalf("after sign-off: status %s active %v DoneAt %v", h.Status, h.Active(), h.DoneAt)
	}
	if !h.ClosedAt.IsZero() || h.ClosedBy != "" || h.ClosedWhy != "" {
		t.Errorf("a signed-off hotfix has close fields: %v %q %q", h.ClosedAt, h.ClosedBy, h.ClosedWhy)
	}
	if len(h.Signoffs) != 4 || b.Active() != nil {
		t.Fatalf("%d sign-offs, book active %v", len(h.Signoffs), b.Active())
	}
	if got, _ := b.Get(0); got != h {
		t.Error("Get(0) after sign-off is not the latest hotfix")
	}
}

// TestSignRefusals checks every refusal, and that a refusal changes nothing.
func TestSignRefusals(t *testing.T) {
	type state func(*testing.T, *Groups) *Hotfix
	staging := func(t *testing.T, _ *Groups) *Hotfix { _, h := opened(t); return h }
	qaSigned := func(t *testing.T, g *Groups) *Hotfix {
		_, h := opened(t)
		mustSign(t, h, t0, bob, qa, g) // 08:30 UTC
		return h
	}
	cases := []struct {
		name    string
		state   state
		user    string
		group   string
		approve bool
		reason  string
		kind    incident.Kind
		msg     []string
	}{
		{name: "fixer in the group", state: staging, user: fixer, group: qa, approve: true, kind: incident.KindForbidden,
			msg: []string{"you made this fix", "another member of qa"}},
		{name: "fixer rejecting", state: staging, user: fixer, group: qa, reason: "nope", kind: incident.KindForbidden, msg: []string{"four eyes"}},
		{name: "fixer outside the group", state: staging, user: fixer, group: supp, approve: true, kind: incident.KindForbidden, msg: []string{"you made this fix"}},
		{name: "non-member", state: staging, user: carol, group: qa, approve: true, kind: incident.KindForbidden,
			msg: []string{"only members of qa", "<@alice>, <@bob>, <@fixer>"}},
		{name: "stranger", state: staging, user: dave, group: supp, approve: true, kind: incident.KindForbidden,
			msg: []string{"only members of support", "(<@carol>, <@bob>)"}},
		{name: "release manager is no member", state: staging, user: rm, group: qa, approve: true, kind: incident.KindForbidden},
		{name: "unknown group", state: staging, user: alice, group: "product", approve: true, kind: incident.KindInvalid,
			msg: []string{"qa, support", "not product"}},
		{name: "group not canonical", state: staging, user: alice, group: "QA", approve: true, kind: incident.KindInvalid},
		{name: "second sign-off for the group", state: qaSigned, user: alice, group: qa, approve: true, kind: incident.KindConflict,
			msg: []string{"qa already signed staging off", "hotfix 1 on #abc123", "<@bob>", "08:30 UTC"}},
		{name: "second verdict for the group", state: qaSigned, user: alice, group: qa, reason: "broken", kind: incident.KindConflict},
		{name: "same person, second group", state: qaSigned, user: bob, group: supp, approve: true, kind: incident.KindForbidden,
			msg: []string{"already signed staging off for qa", "one person signs for one group per stage", "another member of support"}},
		{name: "same person rejecting for a second group", state: qaSigned, user: bob, group: supp, reason: "broken", kind: incident.KindForbidden},
		{name: "rejection without reason", state: staging, user: alice, group: qa, kind: incident.KindInvalid,
			msg: []string{"a rejection needs a reason"}},
		{name: "rejection with blank reason", state: staging, user: alice, group: qa, reason: " \n\t ", kind: incident.KindInvalid},
		{name: "ready", state: readyHotfix, user: bob, group: qa, approve: true, kind: incident.KindConflict,
			msg: []string{"signed off in staging", "waits for <@rm> to deploy"}},
		{name: "ready, rejecting", state: readyHotfix, user: bob, group: qa, reason: "broken", kind: incident.KindConflict, msg: []string{"<@rm>"}},
		{name: "done", state: doneHotfix, user: alice, group: qa, approve: true, kind: incident.KindConflict,
			msg: []string{"signed off after deploy", "nothing is left to sign"}},
		{name: "rejected", state: rejectedHotfix, user: carol, group: supp, approve: true, kind: incident.KindConflict,
			msg: []string{"is rejected", "nothing is left to sign"}},
		{name: "cancelled", state: cancelledHotfix, user: carol, group: supp, approve: true, kind: incident.KindConflict,
			msg: []string{"is cancelled"}},
		{name: "after deploy, second sign-off for the group", state: func(t *testing.T, g *Groups) *Hotfix {
			h := verifyingHotfix(t, g)
			mustSign(t, h, t0, alice, qa, g)
			return h
		}, user: bob, group: qa, approve: true, kind: incident.KindConflict, msg: []string{"qa already signed after deploy off", "<@alice>"}},
		{name: "after deploy, same person, second group", state: func(t *testing.T, g *Groups) *Hotfix {
			h := verifyingHotfix(t, g)
			mustSign(t, h, t0, bob, qa, g)
			return h
		}, user: bob, group: supp, approve: true, kind: incident.KindForbidden, msg: []string{"already signed after deploy off for qa"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := stdGroups(t)
			h := c.state(t, g)
			before := clone(t, h)
			evs, err := h.Sign(t0.Add(time.Hour), c.user, c.group, c.approve, c.reason, g)
			wantKind(t, err, c.kind, c.msg...)
			if evs != nil {
				t.Errorf("events with an error: %v", evs)
			}
			if !reflect.DeepEqual(h, before) {
				t.Errorf("a refused sign-off changed the hotfix:\n got %+v\nwant %+v", h, before)
			}
		})
	}
}

// clone deep-copies h through JSON, as the store would.
func clone(t *testing.T, h *Hotfix) *Hotfix {
	t.Helper()
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var out Hotfix
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestSignGroupWithoutMembers(t *testing.T) {
	g := stdGroups(t)
	_, h := opened(t)
	if err := g.Remove(supp); err != nil {
		t.Fatal(err)
	}
	_, err := h.Sign(t0, carol, supp, true, "", g)
	wantKind(t, err, incident.KindForbidden, "only members of support", "(nobody)")
}

func TestSignMembershipAtSigningTime(t *testing.T) {
	g := stdGroups(t)
	_, h := opened(t)
	_, err := h.Sign(t0, dave, supp, true, "", g)
	wantKind(t, err, incident.KindForbidden)

	// dave joins support during the hotfix and signs at once.
	if err := g.Set(supp, []string{carol, bob, dave}); err != nil {
		t.Fatal(err)
	}
	mustSign(t, h, t0, dave, supp, g)

	// alice leaves qa during the hotfix and may no longer sign for it.
	if err := g.Set(qa, []string{bob}); err != nil {
		t.Fatal(err)
	}
	_, err = h.Sign(t0, alice, qa, true, "", g)
	wantKind(t, err, incident.KindForbidden, "(<@bob>)")

	// The required groups stay those of the request, though.
	if err := g.Set("product", []string{carol}); err != nil {
		t.Fatal(err)
	}
	_, err = h.Sign(t0, carol, "product", true, "", g)
	wantKind(t, err, incident.KindInvalid, "not product")
	mustSign(t, h, t0, bob, qa, g)
	if h.Status != StatusReady {
		t.Errorf("status = %s, want ready", h.Status)
	}
}

func TestSignAuthorNotRequester(t *testing.T) {
	g := stdGroups(t)
	r := request()
	r.RequestedBy, r.Author = alice, bob // alice requests bob's fix
	h, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Book{}).Open(h); err != nil {
		t.Fatal(err)
	}
	for _, group := range []string{qa, supp} {
		_, err := h.Sign(t0, bob, group, true, "", g)
		wantKind(t, err, incident.KindForbidden, "you made this fix")
		// Four eyes covers the requester too: naming someone else as the
		// author does not let them sign for their own group.
		for _, approve := range []bool{true, false} {
			_, err = h.Sign(t0, alice, group, approve, "looks wrong", g)
			wantKind(t, err, incident.KindForbidden, "you requested this fix (made by <@bob>)", "four eyes", "another member of "+group)
		}
	}
	if len(h.Signoffs) != 0 {
		t.Fatalf("refused sign-offs were recorded: %+v", h.Signoffs)
	}
	// The fixer-by-default, neither requester nor author here, is an
	// ordinary member.
	mustSign(t, h, t0, fixer, qa, g)
	mustSign(t, h, t0, carol, supp, g)
	if h.Status != StatusReady {
		t.Errorf("status = %s", h.Status)
	}
	if got := h.Fixers(); !slices.Equal(got, []string{alice, bob}) {
		t.Errorf("Fixers = %v", got)
	}
}

// TestDeployByFixers: neither the requester nor the author releases the
// fix, even when a record names one of them as its release manager.
func TestDeployByFixers(t *testing.T) {
	g := stdGroups(t)
	r := request()
	r.RequestedBy, r.Author = dave, rm // dave requests the release manager's fix
	h, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	h.ReleaseManager = dave // as a record from before four eyes covered the requester could
	if err := (&Book{}).Open(h); err != nil {
		t.Fatal(err)
	}
	mustSign(t, h, t0, alice, qa, g)
	mustSign(t, h, t0, carol, supp, g)
	_, err = h.Deploy(t0, dave)
	wantKind(t, err, incident.KindForbidden, "you requested this fix", "may not release it (four eyes)", "hotfix-cancel", "--rm @someone")
	_, err = h.Deploy(t0, rm)
	wantKind(t, err, incident.KindForbidden, "you made this fix, so you may not release it (four eyes)", "<@dave>")
	if h.Status != StatusReady || h.DeployedBy != "" {
		t.Errorf("a refused deploy moved the hotfix: %s by %q", h.Status, h.DeployedBy)
	}
}

func TestReject(t *testing.T) {
	stages := []struct {
		name  string
		state func(*testing.T, *Groups) *Hotfix
		stage Stage
	}{
		{"staging", func(t *testing.T, _ *Groups) *Hotfix { _, h := opened(t); return h }, StageStaging},
		{"staging after one approval", func(t *testing.T, g *Groups) *Hotfix {
			_, h := opened(t)
			mustSign(t, h, t0, carol, supp, g)
			return h
		}, StageStaging},
		{"after deploy", verifyingHotfix, StageAfterDeploy},
	}
	for _, c := range stages {
		t.Run(c.name, func(t *testing.T) {
			g := stdGroups(t)
			h := c.state(t, g)
			n := len(h.Signoffs)
			at := t0.Add(time.Hour)
			evs, err := h.Sign(at, alice, qa, false, "  login fails on Safari  ", g)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("%d events, want only the sign-off", len(evs))
			}
			checkEvent(t, evs[0], incident.EventHotfixSigned, alice, at, "login fails on Safari", map[string]string{
				incident.DataHotfix: "1", incident.DataStage: string(c.stage), incident.DataGroup: qa, incident.DataVerdict: incident.VerdictRejected,
			})
			if h.Status != StatusRejected || h.Active() || h.Stage() != "" {
				t.Fatalf("status %s active %v", h.Status, h.Active())
			}
			if !h.ClosedAt.Equal(at) || h.ClosedAt.Location() != time.UTC || h.ClosedBy != alice || h.ClosedWhy != "login fails on Safari" {
				t.Errorf("closed at %v by %q why %q", h.ClosedAt, h.ClosedBy, h.ClosedWhy)
			}
			if !h.DoneAt.IsZero() {
				t.Error("a rejected hotfix has DoneAt")
			}
			if len(h.Signoffs) != n+1 {
				t.Fatalf("%d sign-offs, want %d", len(h.Signoffs), n+1)
			}
			s, _ := h.Signoff(c.stage, qa)
			if s.Approved || s.Reason != "login fails on Safari" || s.UserID != alice {
				t.Errorf("sign-off = %+v", s)
			}
			// Nothing moves after a rejection.
			_, err = h.Sign(at, carol, supp, true, "", g)
			wantKind(t, err, incident.KindConflict, "rejected")
			_, err = h.Deploy(at, rm)
			wantKind(t, err, incident.KindConflict, "rejected")
			_, err = h.Cancel(at, fixer, "")
			wantKind(t, err, incident.KindConflict, "only an active hotfix")
		})
	}
}

func TestRejectReasonLimit(t *testing.T) {
	g := stdGroups(t)
	_, h := opened(t)
	_, err := h.Sign(t0, alice, qa, false, strings.Repeat("x", MaxReasonRunes+1), g)
	wantKind(t, err, incident.KindInvalid)
	if h.Status != StatusStaging || len(h.Signoffs) != 0 {
		t.Fatalf("a refused rejection changed the hotfix: %s %v", h.Status, h.Signoffs)
	}
	if _, err := h.Sign(t0, alice, qa, false, strings.Repeat("é", MaxReasonRunes), g); err != nil {
		t.Fatalf("a reason of exactly %d runes: %v", MaxReasonRunes, err)
	}
}

// A rejection reason that is too long is told so, not that it is missing.
func TestRejectReasonTooLongMessage(t *testing.T) {
	g := stdGroups(t)
	_, h := opened(t)
	_, err := h.Sign(t0, alice, qa, false, strings.Repeat("x", MaxReasonRunes+1), g)
	wantKind(t, err, incident.KindInvalid, "1001", "1000")
}

// A description that is too long is told its length and the limit.
func TestDescriptionTooLongMessage(t *testing.T) {
	r := request()
	r.Description = strings.Repeat("x", MaxDescriptionRunes+1)
	_, err := New(r)
	wantKind(t, err, incident.KindInvalid, "2001", "2000")
}

// Only a rejection has a reason: text passed with an approval is dropped.
func TestApprovalStoresNoReason(t *testing.T) {
	g := stdGroups(t)
	_, h := opened(t)
	long := strings.Repeat("x", 10*MaxReasonRunes)
	evs, err := h.Sign(t0, alice, qa, true, long, g)
	if err != nil {
		return // refusing the text is a fix too
	}
	if s, _ := h.Signoff(StageStaging, qa); s.Reason != "" || evs[0].Text != "" {
		t.Errorf("approval stored a %d-rune reason; event text %d runes", len(s.Reason), len(evs[0].Text))
	}
}

func TestDeployRefusals(t *testing.T) {
	cases := []struct {
		name  string
		state func(*testing.T, *Groups) *Hotfix
		user  string
		kind  incident.Kind
		msg   []string
	}{
		{"staging, nothing signed", func(t *testing.T, _ *Groups) *Hotfix { _, h := opened(t); return h }, rm, incident.KindConflict,
			[]string{"not signed off in staging yet", "waiting for qa, support"}},
		{"staging, by someone else", func(t *testing.T, _ *Groups) *Hotfix { _, h := opened(t); return h }, alice, incident.KindConflict,
			[]string{"waiting for qa, support"}},
		{"ready, by the fixer", readyHotfix, fixer, incident.KindForbidden, []string{"<@rm>"}},
		{"verifying", verifyingHotfix, rm, incident.KindConflict, []string{"deployed, waiting for after-deploy sign-off"}},
		{"done", doneHotfix, rm, incident.KindConflict, []string{"signed off after deploy"}},
		{"rejected", rejectedHotfix, rm, incident.KindConflict, []string{"is rejected"}},
		{"cancelled", cancelledHotfix, rm, incident.KindConflict, []string{"is cancelled"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.state(t, stdGroups(t))
			before := clone(t, h)
			_, err := h.Deploy(t0.Add(time.Hour), c.user)
			wantKind(t, err, c.kind, c.msg...)
			if !reflect.DeepEqual(h, before) {
				t.Errorf("a refused deploy changed the hotfix:\n got %+v\nwant %+v", h, before)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	cases := []struct {
		name   string
		state  func(*testing.T, *Groups) *Hotfix
		reason string
		want   string // the stored reason
	}{
		{"staging, no reason", func(t *testing.T, _ *Groups) *Hotfix { _, h := opened(t); return h }, "", ""},
		{"staging, reason trimmed", func(t *testing.T, _ *Groups) *Hotfix { _, h := opened(t); return h }, "  wrong branch \n", "wrong branch"},
		{"ready", readyHotfix, "superseded", "superseded"},
		{"verifying", verifyingHotfix, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := stdGroups(t)
			h := c.state(t, g)
			at := t0.Add(time.Hour)
			ev, err := h.Cancel(at, dave, c.reason)
			if err != nil {
				t.Fatal(err)
			}
			checkEvent(t, ev, incident.EventHotfixCancelled, dave, at, c.want, map[string]string{incident.DataHotfix: "1"})
			if h.Status != StatusCancelled || h.Active() || h.Stage() != "" {
				t.Fatalf("status %s", h.Status)
			}
			if !h.ClosedAt.Equal(at) || h.ClosedAt.Location() != time.UTC || h.ClosedBy != dave || h.ClosedWhy != c.want {
				t.Errorf("closed at %v by %q why %q", h.ClosedAt, h.ClosedBy, h.ClosedWhy)
			}
			// Final.
			_, err = h.Cancel(at, dave, "")
			wantKind(t, err, incident.KindConflict, "is cancelled", "only an active hotfix can be cancelled")
			_, err = h.Sign(at, bob, qa, true, "", g)
			wantKind(t, err, incident.KindConflict)
			_, err = h.Deploy(at, rm)
			wantKind(t, err, incident.KindConflict)
		})
	}

	// Not an active one.
	for name, state := range map[string]func(*testing.T, *Groups) *Hotfix{"done": doneHotfix, "rejected": rejectedHotfix} {
		h := state(t, stdGroups(t))
		before := clone(t, h)
		_, err := h.Cancel(t0, dave, "why")
		wantKind(t, err, incident.KindConflict, "only an active hotfix")
		if !reflect.DeepEqual(h, before) {
			t.Errorf("%s: a refused cancel changed the hotfix", name)
		}
	}

	// A reason over the limit.
	_, h := opened(t)
	_, err := h.Cancel(t0, dave, strings.Repeat("x", MaxReasonRunes+1))
	wantKind(t, err, incident.KindInvalid, "reason")
	if h.Status != StatusStaging || h.ClosedBy != "" {
		t.Errorf("a refused cancel changed the hotfix: %s %q", h.Status, h.ClosedBy)
	}
}

func TestBookOpenAndGet(t *testing.T) {
	b := &Book{}
	_, err := b.Get(0)
	wantKind(t, err, incident.KindNotFound, "no hotfix request")
	_, err = b.Get(1)
	wantKind(t, err, incident.KindNotFound, "no hotfix 1")

	newHotfix := func() *Hotfix {
		h, err := New(request())
		if err != nil {
			t.Fatal(err)
		}
		h.ReleaseManager = rm
		return h
	}
	h1 := newHotfix()
	h1.Status, h1.N = StatusDone, 99 // Open sets both
	if err := b.Open(h1); err != nil {
		t.Fatal(err)
	}
	if h1.N != 1 || h1.Status != StatusStaging || b.Revision != 1 {
		t.Fatalf("first: n %d status %s revision %d", h1.N, h1.Status, b.Revision)
	}

	// A second one waits while the first is active, in every active status.
	g := stdGroups(t)
	for _, step := range []func(){
		func() {},
		func() { mustSign(t, h1, t0, alice, qa, g); mustSign(t, h1, t0, carol, supp, g) },
		func() {
			if _, err := h1.Deploy(t0, rm); err != nil {
				t.Fatal(err)
			}
		},
	} {
		step()
		err := b.Open(newHotfix())
		wantKind(t, err, incident.KindConflict, "hotfix 1 on #abc123 is still "+h1.Status.Label(), "hotfix-cancel")
		if len(b.Hotfixes) != 1 || b.Revision != 1 {
			t.Fatalf("a refused Open changed the book: %d hotfixes, revision %d", len(b.Hotfixes), b.Revision)
		}
	}
	if got, err := b.Get(0); err != nil || got != h1 {
		t.Fatalf("Get(0) = %v, %v; want the active one", got, err)
	}

	// Rejected: a new one may open.
	if _, err := h1.Sign(t0, bob, qa, false, "still broken", g); err != nil {
		t.Fatal(err)
	}
	h2 := newHotfix()
	if err := b.Open(h2); err != nil || h2.N != 2 || b.Revision != 2 {
		t.Fatalf("after a rejection: %v, n %d, revision %d", err, h2.N, b.Revision)
	}
	// Cancelled: a new one may open.
	if _, err := h2.Cancel(t0, fixer, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Get(0); got != h2 {
		t.Fatalf("Get(0) with none active = hotfix %d, want the latest, 2", got.N)
	}
	h3 := newHotfix()
	if err := b.Open(h3); err != nil || h3.N != 3 {
		t.Fatalf("after a cancellation: %v, n %d", err, h3.N)
	}

	for n, want := range map[int]*Hotfix{0: h3, 1: h1, 2: h2, 3: h3} {
		if got, err := b.Get(n); err != nil || got != want {
			t.Errorf("Get(%d) = %v, %v; want hotfix %d", n, got, err, want.N)
		}
	}
	for _, n := range []int{4, -1, 100} {
		_, err := b.Get(n)
		wantKind(t, err, incident.KindNotFound, "no hotfix")
	}
	if b.Active() != h3 {
		t.Errorf("Active = %v, want hotfix 3", b.Active())
	}
}

func TestBookGetPrefersActive(t *testing.T) {
	// Open keeps the active one last, but Get(0) does not rely on it.
	active := &Hotfix{N: 1, IncidentID: incID, Status: StatusVerifying}
	b := &Book{Hotfixes: []*Hotfix{active, {N: 2, IncidentID: incID, Status: StatusCancelled}}}
	if got, err := b.Get(0); err != nil || got != active {
		t.Fatalf("Get(0) = %+v, %v; want the active hotfix 1", got, err)
	}
	wantKind(t, b.Open(&Hotfix{}), incident.KindConflict, "hotfix 1 on #abc123 is still deployed")
}

func TestBookNumbersFollowTheLast(t *testing.T) {
	// Numbers continue from the last one, not from the count.
	b := &Book{Hotfixes: []*Hotfix{{N: 1, Status: StatusDone}, {N: 5, Status: StatusCancelled}}}
	h, _ := New(request())
	if err := b.Open(h); err != nil || h.N != 6 {
		t.Fatalf("Open: %v, n %d, want 6", err, h.N)
	}
}

func TestBookMaxPerIncident(t *testing.T) {
	b := &Book{}
	for i := range MaxPerIncident {
		h, _ := New(request())
		if err := b.Open(h); err != nil {
			t.Fatalf("hotfix %d: %v", i+1, err)
		}
		if _, err := h.Cancel(t0, fixer, ""); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := New(request())
	wantKind(t, b.Open(h), incident.KindConflict, "20 hotfix requests, the limit")
	if len(b.Hotfixes) != MaxPerIncident || h.N != 0 {
		t.Errorf("%d hotfixes, refused one numbered %d", len(b.Hotfixes), h.N)
	}
}

func TestBookDrop(t *testing.T) {
	g := stdGroups(t)
	b, h1 := opened(t)
	if _, err := h1.Cancel(t0, fixer, ""); err != nil {
		t.Fatal(err)
	}
	h2, _ := New(request())
	if err := b.Open(h2); err != nil {
		t.Fatal(err)
	}
	rev := b.Revision

	// Not dropped: unknown, cancelled, or moved.
	b.Drop(7)
	b.Drop(1) // cancelled
	mustSign(t, h2, t0, alice, qa, g)
	b.Drop(2) // signed
	if len(b.Hotfixes) != 2 || b.Revision != rev {
		t.Fatalf("Drop removed a hotfix it must keep: %d left, revision %d", len(b.Hotfixes), b.Revision)
	}
	for name, state := range map[string]func(*testing.T, *Groups) *Hotfix{"ready": readyHotfix, "verifying": verifyingHotfix, "done": doneHotfix, "rejected": rejectedHotfix} {
		h := state(t, g)
		b := &Book{Hotfixes: []*Hotfix{h}}
		b.Drop(h.N)
		if len(b.Hotfixes) != 1 || b.Revision != 0 {
			t.Errorf("Drop removed a %s hotfix", name)
		}
	}

	// Dropped: untouched staging.
	b, h1 = opened(t)
	if _, err := h1.Cancel(t0, fixer, ""); err != nil {
		t.Fatal(err)
	}
	h2, _ = New(request())
	if err := b.Open(h2); err != nil {
		t.Fatal(err)
	}
	rev = b.Revision
	b.Drop(2)
	if len(b.Hotfixes) != 1 || b.Hotfixes[0] != h1 || b.Revision != rev+1 {
		t.Fatalf("after Drop(2): %d hotfixes, revision %d (was %d)", len(b.Hotfixes), b.Revision, rev)
	}
	if b.Active() != nil {
		t.Error("the dropped hotfix is still active")
	}
	// Its number is free again, and a new one may open.
	h3, _ := New(request())
	if err := b.Open(h3); err != nil || h3.N != 2 {
		t.Fatalf("after a drop: %v, n %d", err, h3.N)
	}
}

func TestBookJSONRoundTrip(t *testing.T) {
	g := stdGroups(t)
	rejected := rejectedHotfix(t, g)
	rejected.N = 1
	cancelled := cancelledHotfix(t, g)
	cancelled.N = 2
	cancelled.ClosedWhy = "wrong branch"
	done := doneHotfix(t, g)
	done.N = 3
	done.RMNote = SubstituteNote(fixer, rm)
	done.PageID, done.PostID, done.ChannelID = "page1", "post1", "chan1"
	done.Author = dave
	_, staging := opened(t)
	staging.N = 4
	mustSign(t, staging, t0, carol, supp, g)
	b := &Book{Hotfixes: []*Hotfix{rejected, cancelled, done, staging}, Revision: 42}

	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var got Book
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, b) {
		t.Fatalf("round trip changed the book:\n got %s\nwant %s", mustJSON(t, &got), data)
	}

	// Zero times and empty optional fields are left out.
	var raw struct {
		Hotfixes []map[string]json.RawMessage `json:"hotfixes"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	absent := map[int][]string{
		0: {"deployed_at", "deployed_by", "done_at", "rm_note", "page_id", "post_id", "channel_id"},
		1: {"deployed_at", "done_at", "signoffs"},
		2: {"closed_at", "closed_by", "closed_why"},
		3: {"deployed_at", "done_at", "closed_at", "closed_by", "closed_why"},
	}
	for i, keys := range absent {
		for _, k := range keys {
			if v, ok := raw.Hotfixes[i][k]; ok {
				t.Errorf("hotfix %d stores %s = %s", i+1, k, v)
			}
		}
	}
	for _, k := range []string{"deployed_at", "deployed_by", "done_at", "rm_note", "page_id", "signoffs", "author"} {
		if _, ok := raw.Hotfixes[2][k]; !ok {
			t.Errorf("the done hotfix does not store %s", k)
		}
	}
	if s := string(data); !strings.Contains(s, `"at":"2026-03-29T08:31:00Z"`) {
		t.Errorf("times are not stored in UTC: %s", s)
	}

	// An empty book.
	data, err = json.Marshal(&Book{})
	if err != nil || string(data) != `{"revision":0}` {
		t.Errorf("empty book = %s, %v", data, err)
	}
	var empty Book
	if err := json.Unmarshal(data, &empty); err != nil || !reflect.DeepEqual(empty, Book{}) {
		t.Errorf("empty book round trip = %+v, %v", empty, err)
	}
}

func TestGroupsJSONRoundTrip(t *testing.T) {
	g := stdGroups(t)
	g.Revision = 7
	data, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var got Groups
	if err := json.Unmarshal(data, &got); err != nil || !reflect.DeepEqual(&got, g) {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, g)
	}
	data, _ = json.Marshal(&Groups{})
	if string(data) != `{"revision":0}` {
		t.Errorf("zero Groups = %s", data)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestStageAndStatusNames(t *testing.T) {
	for _, c := range []struct {
		in    string
		want  Stage
		title string
	}{
		{"staging", StageStaging, "Staging"},
		{"after_deploy", StageAfterDeploy, "After deploy"},
	} {
		st, err := ParseStage(c.in)
		if err != nil || st != c.want || st.Title() != c.title {
			t.Errorf("ParseStage(%q) = %q (%q), %v", c.in, st, st.Title(), err)
		}
	}
	for _, in := range []string{"", "Staging", "after deploy", "deploy"} {
		_, err := ParseStage(in)
		wantKind(t, err, incident.KindInvalid, "unknown sign-off stage")
	}
	if Stage("odd").Title() != "odd" {
		t.Error("unknown stage title")
	}
	if !slices.Equal(Stages, []Stage{StageStaging, StageAfterDeploy}) {
		t.Errorf("Stages = %v", Stages)
	}
	if string(StageStaging) != incident.StageStaging || string(StageAfterDeploy) != incident.StageAfterDeploy {
		t.Error("stage values differ from the timeline's")
	}

	active := map[Status]bool{StatusStaging: true, StatusReady: true, StatusVerifying: true, StatusDone: false, StatusRejected: false, StatusCancelled: false}
	labels := map[string]bool{}
	for st, want := range active {
		h := &Hotfix{Status: st}
		if h.Active() != want {
			t.Errorf("%s active = %v", st, h.Active())
		}
		l := st.Label()
		if l == "" || l == string(st) && st != StatusRejected && st != StatusCancelled || labels[l] {
			t.Errorf("%s label %q", st, l)
		}
		labels[l] = true
	}
	if Status("odd").Label() != "odd" || (&Hotfix{Status: "odd"}).Active() {
		t.Error("unknown status")
	}
	if got := (&Hotfix{N: 2, IncidentID: "abc123"}).Ref(); got != "hotfix 2 on #abc123" {
		t.Errorf("Ref = %q", got)
	}
	if got := SubstituteNote("a", "b"); !strings.Contains(got, "<@a> made the fix") || !strings.Contains(got, "<@b> is the next release manager") {
		t.Errorf("SubstituteNote = %q", got)
	}
}

func TestAtStage(t *testing.T) {
	g := stdGroups(t)
	_, h := opened(t)
	if err := h.AtStage(StageStaging); err != nil {
		t.Errorf("at its own stage: %v", err)
	}
	if err := h.AtStage(""); err != nil {
		t.Errorf("no stage seen: %v", err)
	}
	wantKind(t, h.AtStage(StageAfterDeploy), incident.KindConflict, "moved on meanwhile", "waiting for staging sign-off")
	if _, err := h.Sign(t0, alice, qa, false, "broken", g); err != nil {
		t.Fatal(err)
	}
	wantKind(t, h.AtStage(StageStaging), incident.KindConflict, "moved on meanwhile", "rejected")
}
