package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// fakeReleases records sign-off posts, notices and freeze announcements.
type fakeReleases struct {
	mu       sync.Mutex
	posts    map[string]*hotfix.Hotfix // post id -> last rendering
	notices  []string                  // event types, in order
	freezes  []string                  // "started:ids" / "ended:ids"
	failPost bool
	n        int
}

func newFakeReleases() *fakeReleases { return &fakeReleases{posts: map[string]*hotfix.Hotfix{}} }

func (f *fakeReleases) PostHotfix(_ context.Context, _ *incident.Incident, h *hotfix.Hotfix, _ *hotfix.Groups) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failPost {
		return "", errors.New("channel archived")
	}
	f.n++
	id := fmt.Sprintf("hfpost%d", f.n)
	f.posts[id] = jsonCopy(h)
	return id, nil
}

func (f *fakeReleases) UpdateHotfix(_ context.Context, _ *incident.Incident, h *hotfix.Hotfix, _ *hotfix.Groups) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts[h.PostID] = jsonCopy(h)
	return nil
}

func (f *fakeReleases) HotfixNotice(_ context.Context, _ *incident.Incident, _ *hotfix.Hotfix, _ *hotfix.Groups, ev incident.Event, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notices = append(f.notices, string(ev.Type))
	return nil
}

func (f *fakeReleases) AnnounceFreeze(_ context.Context, fr *Freeze, started bool, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	what := "ended"
	if started {
		what = "started"
	}
	f.freezes = append(f.freezes, what+":"+strings.Join(fr.Incidents, ","))
	return nil
}

func (f *fakeReleases) freezeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.freezes...)
}

// withReleases returns another App on e's store and clock (as another
// cluster node would be) that shows hotfixes on r, pages on p, and needs
// sign-off from qa and support.
func (e *env) withReleases(r *fakeReleases, p *fakePager) *App {
	return e.app.derive(func(a *App) {
		a.releases = r
		if p != nil {
			a.pager = p
		}
		base := a.settings
		a.settings = func() Settings {
			s := base()
			s.HotfixGroups = []string{"qa", "support"}
			return s
		}
	})
}

// hotfixEnv: a rota whose release managers are rob then rita, and groups
// qa (quinn, quentin, dev) and support (sam).
func hotfixEnv(t *testing.T) (*env, *App, *fakeReleases, *fakePager) {
	t.Helper()
	return hotfixEnvOn(t, defaultStore)
}

// hotfixEnvOn is hotfixEnv over a new store of kind s.
func hotfixEnvOn(t *testing.T, s storeKind) (*env, *App, *fakeReleases, *fakePager) {
	t.Helper()
	e := newEnvOn(t, s)
	e.setRota(t, map[incident.Role][]string{incident.RoleIM: {"ian"}, incident.RoleL1: {"lea"}, incident.RoleRM: {"rob", "rita"}})
	if _, err := e.app.SetSignoffGroup(ctx, "root", "QA", []string{"quinn", "quentin", "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.SetSignoffGroup(ctx, "root", "support", []string{"sam"}); err != nil {
		t.Fatal(err)
	}
	rel, pager := newFakeReleases(), newFakePager("n1")
	return e, e.withReleases(rel, pager), rel, pager
}

func sign(a *App, inc *incident.Incident, who, group string, approve bool, reason string) (*hotfix.Hotfix, error) {
	return a.SignHotfix(ctx, inc, SignRequest{Actor: who, Group: group, Approve: approve, Reason: reason})
}

func TestHotfixGoesThroughBothStages(t *testing.T) {
	e, a, rel, pager := hotfixEnv(t)
	inc := e.start(t, "payments down")
	requested, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "dev", Description: "raise the pool size"})
	if err != nil {
		t.Fatal(err)
	}
	h := storedHotfix(t, a, inc, requested.N) // with what its follow-up did
	if h.N != 1 || h.ReleaseManager != "rob" || h.Author != "dev" || h.PostID == "" || h.PageID == "" || h.Status != hotfix.StatusStaging {
		t.Fatalf("request: %+v", h)
	}
	if s := pager.sends(); len(s) != 1 || s[0].target != "rob" {
		t.Fatalf("the release manager must be paged once: %+v", s)
	}
	members := e.chat.members[inc.ChannelID]
	for _, u := range []string{"rob", "quinn", "quentin", "sam"} {
		if !strings.Contains(strings.Join(members, ","), u) {
			t.Errorf("%s was not added to the incident channel (members %v)", u, members)
		}
	}

	refusals := []struct {
		who, group string
		kind       incident.Kind
	}{
		{"dev", "qa", incident.KindForbidden},   // the fixer, though a member
		{"sam", "qa", incident.KindForbidden},   // not a member of qa
		{"quinn", "ops", incident.KindInvalid},  // not a required group
		{"quinn", "bad!", incident.KindInvalid}, // not a group name
	}
	for _, r := range refusals {
		if _, err := sign(a, inc, r.who, r.group, true, ""); incident.KindOf(err) != r.kind {
			t.Errorf("%s signing %s: %v, want kind %v", r.who, r.group, err, r.kind)
		}
	}
	if _, err := sign(a, inc, "quinn", "qa", true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := sign(a, inc, "quentin", "qa", true, ""); incident.KindOf(err) != incident.KindConflict {
		t.Errorf("a second approval of qa in staging: %v", err)
	}
	if _, err := a.MarkDeployed(ctx, "rob", inc, 0); incident.KindOf(err) != incident.KindConflict || !strings.Contains(err.Error(), "support") {
		t.Errorf("deploy before staging is signed off: %v", err)
	}
	if h, err = sign(a, inc, "sam", "support", true, ""); err != nil || h.Status != hotfix.StatusReady {
		t.Fatalf("last staging approval: %+v %v", h, err)
	}
	if _, err := a.MarkDeployed(ctx, "quinn", inc, 0); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("deploy by someone else than the release manager: %v", err)
	}
	if h, err = a.MarkDeployed(ctx, "rob", inc, 0); err != nil || h.Status != hotfix.StatusVerifying {
		t.Fatalf("deploy: %+v %v", h, err)
	}
	if p, _ := a.PageRecord(ctx, h.PageID); p == nil || p.AckedBy != "rob" {
		t.Errorf("deploying must acknowledge the release manager's page: %+v", p)
	}
	if _, err := sign(a, inc, "quentin", "qa", true, ""); err != nil {
		t.Fatal(err)
	}
	if h, err = sign(a, inc, "sam", "support", true, ""); err != nil || h.Status != hotfix.StatusDone {
		t.Fatalf("last after-deploy approval: %+v %v", h, err)
	}
	if got := rel.posts[h.PostID]; got == nil || got.Status != hotfix.StatusDone {
		t.Errorf("the sign-off post must show the final state: %+v", got)
	}

	tl, _ := e.store.Timeline(ctx, inc.ID)
	var hf []string
	for _, ev := range tl {
		if strings.HasPrefix(string(ev.Type), "hotfix_") {
			hf = append(hf, string(ev.Type)+"/"+ev.Data[incident.DataStage]+"/"+ev.Data[incident.DataGroup])
		}
	}
	want := "hotfix_requested//,hotfix_signed/staging/qa,hotfix_signed/staging/support,hotfix_stage_done/staging/," +
		"hotfix_deployed//,hotfix_signed/after_deploy/qa,hotfix_signed/after_deploy/support,hotfix_stage_done/after_deploy/"
	if got := strings.Join(hf, ","); got != want {
		t.Errorf("hotfix timeline:\n got %s\nwant %s", got, want)
	}
	md, err := a.Postmortem(ctx, inc)
	if err != nil || !strings.Contains(md, "## Release and hotfix") || !strings.Contains(md, "raise the pool size") {
		t.Errorf("postmortem lacks the release section: %v\n%s", err, md)
	}
}

func TestHotfixFourEyesOnTheReleaseManager(t *testing.T) {
	e, a, _, pager := hotfixEnv(t)
	inc := e.start(t, "x")
	requested, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "rob", Description: "fix"})
	if err != nil {
		t.Fatal(err)
	}
	h := storedHotfix(t, a, inc, requested.N)
	if h.ReleaseManager != "rita" || !strings.Contains(h.RMNote, "<@rob> made the fix") {
		t.Fatalf("the fixer cannot release: rm %q note %q", h.ReleaseManager, h.RMNote)
	}
	if s := pager.sends(); len(s) != 1 || s[0].target != "rita" {
		t.Errorf("the substitute must be paged: %+v", s)
	}
	if _, err := a.CancelHotfix(ctx, "quinn", inc, ""); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("a bystander cancelled: %v", err)
	}
	if _, err := a.CancelHotfix(ctx, "rob", inc, "wrong branch"); err != nil {
		t.Fatal(err)
	}
	if p, _ := a.PageRecord(ctx, h.PageID); p == nil || p.ClosedAt.IsZero() {
		t.Errorf("cancelling must close the release manager's page: %+v", p)
	}

	// A named author is the fixer, whoever asks; naming the fixer as
	// release manager is refused.
	if _, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "ian", Author: "rob", ReleaseManager: "rob", Description: "fix"}); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("the author named as release manager: %v", err)
	}
	h, err = a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "ian", Author: "quinn", Description: "fix 2"})
	if err != nil || h.N != 2 || h.Author != "quinn" || h.ReleaseManager != "rob" {
		t.Fatalf("second request: %+v %v", h, err)
	}
	if _, err := sign(a, inc, "quinn", "qa", true, ""); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("the named author signed: %v", err)
	}
	if _, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "ian", Description: "fix 3"}); incident.KindOf(err) != incident.KindConflict {
		t.Errorf("a second active hotfix: %v", err)
	}
}

// TestHotfixFourEyesCoversTheRequester: whoever requests a fix made by
// someone else neither signs it (any group) nor releases it, nor can be
// named its release manager; the release manager who requests it is
// substituted.
func TestHotfixFourEyesCoversTheRequester(t *testing.T) {
	e, a, _, pager := hotfixEnv(t)
	inc := e.start(t, "x")
	_, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "quinn", Author: "dev", ReleaseManager: "quinn", Description: "fix"})
	if incident.KindOf(err) != incident.KindForbidden || !strings.Contains(err.Error(), "you requested this fix") || !strings.Contains(err.Error(), "--rm @someone") {
		t.Fatalf("the requester named as release manager: %v", err)
	}
	_, err = a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "quinn", Author: "dev", ReleaseManager: "dev", Description: "fix"})
	if incident.KindOf(err) != incident.KindForbidden || !strings.Contains(err.Error(), "<@dev> made this fix") {
		t.Fatalf("the author named as release manager: %v", err)
	}
	// support's only member requests: support could only be signed by a fixer.
	if _, err := e.app.SetSignoffGroup(ctx, "root", "support", []string{"quinn"}); err != nil {
		t.Fatal(err)
	}
	_, err = a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "quinn", Author: "dev", Description: "fix"})
	if incident.KindOf(err) != incident.KindConflict || !strings.Contains(err.Error(), "support has nobody but <@quinn>") {
		t.Fatalf("a group only the requester could sign: %v", err)
	}
	if _, err := e.app.SetSignoffGroup(ctx, "root", "support", []string{"sam", "quinn"}); err != nil {
		t.Fatal(err)
	}
	if s := pager.sends(); len(s) != 0 {
		t.Fatalf("refused requests paged: %+v", s)
	}

	h, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "quinn", Author: "dev", Description: "fix"})
	if err != nil || h.ReleaseManager != "rob" {
		t.Fatalf("request: %+v %v", h, err)
	}
	for _, g := range []string{"qa", "support"} {
		for _, who := range []string{"quinn", "dev"} {
			if _, err := sign(a, inc, who, g, true, ""); incident.KindOf(err) != incident.KindForbidden {
				t.Errorf("%s signed %s of the fix quinn requested and dev made: %v", who, g, err)
			}
		}
	}
	if _, err := sign(a, inc, "quinn", "qa", false, "no"); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("the requester rejected: %v", err)
	}
	if _, err := sign(a, inc, "quentin", "qa", true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := sign(a, inc, "sam", "support", true, ""); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"quinn", "dev"} {
		if _, err := a.MarkDeployed(ctx, who, inc, 0); incident.KindOf(err) != incident.KindForbidden || !strings.Contains(err.Error(), "four eyes") {
			t.Errorf("%s released the fix: %v", who, err)
		}
	}
	if _, err := a.CancelHotfix(ctx, "quinn", inc, "superseded"); err != nil {
		t.Fatal(err)
	}

	// The rota's release manager requests dev's fix: the next one releases.
	h, err = a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "rob", Author: "dev", Description: "fix 2"})
	if err != nil || h.ReleaseManager != "rita" || !strings.Contains(h.RMNote, "<@rob> requested the fix") {
		t.Fatalf("the requesting release manager must be substituted: %+v %v", h, err)
	}
}

func TestHotfixRefusedRequestsLeaveNothing(t *testing.T) {
	e, a, rel, pager := hotfixEnv(t)
	inc := e.start(t, "x")
	if _, err := e.app.SetSignoffGroup(ctx, "root", "support", []string{"quinn"}); err != nil {
		t.Fatal(err)
	}
	// qa {quinn, quentin, dev} and support {quinn}: by quentin, only quinn
	// is left for support and dev for qa, fine; by dev, fine too. With
	// support {dev}, dev cannot sign his own fix.
	if _, err := e.app.SetSignoffGroup(ctx, "root", "support", []string{"dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "dev", Description: "fix"}); incident.KindOf(err) != incident.KindConflict {
		t.Fatalf("support cannot sign without its only member, the fixer: %v", err)
	}
	if _, err := e.app.SetSignoffGroup(ctx, "quinn", "support", []string{"sam"}); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("a non-admin edited the groups: %v", err)
	}
	if _, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "dev", Description: "  "}); incident.KindOf(err) != incident.KindInvalid {
		t.Errorf("empty description: %v", err)
	}
	if _, err := e.app.SetSignoffGroup(ctx, "root", "support", []string{"sam"}); err != nil {
		t.Fatal(err)
	}
	// A sign-off post that cannot be made does not refuse the request: it
	// is stored with what it owes, and the post is tried again until it
	// works, once.
	rel.failPost = true
	h, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "dev", Description: "fix"})
	if err != nil || h.N != 1 {
		t.Fatalf("a request whose post failed: %+v %v", h, err)
	}
	if got := storedHotfix(t, a, inc, 1); got.PostID != "" {
		t.Fatalf("posted while posts fail: %+v", got)
	}
	rel.failPost = false
	e.now = e.now.Add(time.Minute)
	a.Tick(ctx)
	if got := storedHotfix(t, a, inc, 1); got.PostID == "" || got.PageID == "" {
		t.Fatalf("after the chat came back: %+v", got)
	}
	rel.mu.Lock()
	posts := len(rel.posts)
	rel.mu.Unlock()
	if posts != 1 {
		t.Errorf("%d sign-off posts, want one", posts)
	}
	if n := len(pager.sends()); n != 1 {
		t.Errorf("the release manager was paged %d times", n)
	}
	tl, _ := e.store.Timeline(ctx, inc.ID)
	if n := strings.Count(types(tl), "hotfix_requested"); n != 1 {
		t.Errorf("%d hotfix_requested events: %s", n, types(tl))
	}
}

// storedHotfix reads hotfix n of inc as stored.
func storedHotfix(t *testing.T, a *App, inc *incident.Incident, n int) *hotfix.Hotfix {
	t.Helper()
	b, err := a.Hotfixes(ctx, inc)
	if err != nil {
		t.Fatal(err)
	}
	h, err := b.Get(n)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHotfixConcurrentApprovalsOfOneGroup(t *testing.T) {
	forEachStore(t, testHotfixConcurrentApprovalsOfOneGroup)
}

func testHotfixConcurrentApprovalsOfOneGroup(t *testing.T, s storeKind) {
	e, a, rel, pager := hotfixEnvOn(t, s)
	inc := e.start(t, "x")
	if _, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "dev", Description: "fix"}); err != nil {
		t.Fatal(err)
	}
	nodes := []*App{a, e.withReleases(rel, pager)}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, who := range []string{"quinn", "quentin"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = sign(nodes[i], inc, who, "qa", true, "")
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("exactly one approval must win: %v / %v", errs[0], errs[1])
	}
	tl, _ := e.store.Timeline(ctx, inc.ID)
	if n := strings.Count(types(tl), "hotfix_signed"); n != 1 {
		t.Errorf("%d sign-off events, want 1", n)
	}
}

func TestRejectionNeedsAReasonAndEndsTheHotfix(t *testing.T) {
	e, a, _, _ := hotfixEnv(t)
	inc := e.start(t, "x")
	if _, err := a.RequestHotfix(ctx, inc, HotfixRequest{Actor: "dev", Description: "fix"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sign(a, inc, "sam", "support", false, " "); incident.KindOf(err) != incident.KindInvalid {
		t.Errorf("rejection without a reason: %v", err)
	}
	h, err := sign(a, inc, "sam", "support", false, "checkout still fails")
	if err != nil || h.Status != hotfix.StatusRejected || h.ClosedWhy != "checkout still fails" {
		t.Fatalf("rejection: %+v %v", h, err)
	}
	if _, err := a.SignHotfix(ctx, inc, SignRequest{Actor: "quinn", N: 1, Stage: hotfix.StageStaging, Group: "qa", Approve: true}); incident.KindOf(err) != incident.KindConflict {
		t.Errorf("approving a rejected hotfix: %v", err)
	}
	tl, _ := e.store.Timeline(ctx, inc.ID)
	last := tl[len(tl)-1]
	for _, ev := range tl {
		if ev.Type == incident.EventHotfixSigned {
			last = ev
		}
	}
	if last.Data[incident.DataVerdict] != incident.VerdictRejected || last.Text != "checkout still fails" || last.Actor != "sam" {
		t.Errorf("rejection event: %+v", last)
	}
}

func TestReleaseFreezeIsAnnouncedOncePerStartAndEnd(t *testing.T) {
	forEachStore(t, testReleaseFreezeIsAnnouncedOncePerStartAndEnd)
}

func testReleaseFreezeIsAnnouncedOncePerStartAndEnd(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	rel := newFakeReleases()
	a1, a2 := e.withReleases(rel, nil), e.withReleases(rel, nil)
	s1, err := a1.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "down", Severity: incident.S1})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := a2.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "also down", Severity: incident.S2})
	if err != nil {
		t.Fatal(err)
	}
	a1.Tick(ctx)
	a2.Tick(ctx)
	if got := strings.Join(rel.freezeLog(), " "); got != "started:"+s1.ID {
		t.Fatalf("after one S1 start and ticks on two nodes: %q", got)
	}
	if _, err := a2.ChangeSeverity(ctx, "bob", s2, incident.S1); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Resolve(ctx, "bob", s1, ""); err != nil {
		t.Fatal(err)
	}
	if n := len(rel.freezeLog()); n != 1 {
		t.Fatalf("the freeze continues while another S1 is open: %v", rel.freezeLog())
	}
	v, err := a1.ReleaseFreeze(ctx, "bob")
	if err != nil || !v.Active || len(v.Holding) != 1 || v.Holding[0].ID != s2.ID {
		t.Fatalf("freeze view: %+v %v", v, err)
	}
	if _, err := a2.ChangeSeverity(ctx, "bob", s2, incident.S2); err != nil {
		t.Fatal(err)
	}
	a1.Tick(ctx)
	a2.Tick(ctx)
	if got := strings.Join(rel.freezeLog(), " "); got != "started:"+s1.ID+" ended:"+s2.ID {
		t.Fatalf("freeze log: %q", got)
	}
	if v, _ := a1.ReleaseFreeze(ctx, "bob"); v.Active || v.Until.IsZero() {
		t.Errorf("after the end: %+v", v)
	}
	tl, _ := e.store.Timeline(ctx, s2.ID)
	if n := strings.Count(types(tl), "release_freeze_ended"); n != 1 {
		t.Errorf("the incident that ended the freeze has %d end events: %s", n, types(tl))
	}
}

// A process that dies right after storing a change to an incident's
// hotfixes, before handing what it owes to the incident's worker, leaves
// it in the document: the tick hands it over, and it is done once.
func TestHotfixOwedWorkSurvivesACrashBetweenItsWrites(t *testing.T) {
	e, a, rel, pager := hotfixEnv(t)
	inc := e.start(t, "x")
	if _, err := storeOwed(ctx, a, hotfixDoc(inc.ID), func(b *hotfix.Book, _ bool) ([]incident.Event, []incident.Step, error) {
		h, err := hotfix.New(hotfix.Request{IncidentID: inc.ID, Description: "fix", RequestedBy: "dev", At: e.now, Groups: []string{"qa", "support"}})
		if err != nil {
			return nil, nil, err
		}
		h.ReleaseManager, h.ChannelID = "rob", inc.ChannelID
		if err := b.Open(h); err != nil {
			return nil, nil, err
		}
		return []incident.Event{h.Requested()}, []incident.Step{{Kind: incident.StepHotfixPost, Value: "1"}, {Kind: incident.StepHotfixPage, Value: "1"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The process died here. Ticks every few seconds for a minute.
	for range 12 {
		e.now = e.now.Add(5 * time.Second)
		a.Tick(ctx)
	}
	h := storedHotfix(t, a, inc, 1)
	if h.PostID == "" || h.PageID == "" {
		t.Fatalf("after the ticks: %+v", h)
	}
	rel.mu.Lock()
	posts := len(rel.posts)
	rel.mu.Unlock()
	tl, _ := e.store.Timeline(ctx, inc.ID)
	if posts != 1 || len(pager.sends()) != 1 || strings.Count(types(tl), "hotfix_requested") != 1 {
		t.Errorf("%d posts, %d pages, timeline %s; want one of each", posts, len(pager.sends()), types(tl))
	}
	if raw, _ := e.store.GetDoc(ctx, hotfixDoc(inc.ID)); strings.Contains(string(raw), `"owed":[`) {
		t.Errorf("the document still owes: %s", raw)
	}
}
