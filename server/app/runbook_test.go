package app

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
)

// fakeRunbooks records checklist posts.
type fakeRunbooks struct {
	mu        sync.Mutex
	posts     int
	updates   int
	mentions  []map[incident.Role]string
	proposals int
}

func (f *fakeRunbooks) PostChecklist(_ context.Context, _ *incident.Incident, _ *runbook.Checklist, m map[incident.Role]string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts++
	f.mentions = append(f.mentions, m)
	return "checklist-post", nil
}

func (f *fakeRunbooks) UpdateChecklist(context.Context, *incident.Incident, *runbook.Checklist) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates++
	return nil
}

func (f *fakeRunbooks) MentionStepHolders(_ context.Context, _ *incident.Incident, _ *runbook.Checklist, m map[incident.Role]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mentions = append(f.mentions, m)
	return nil
}

func (f *fakeRunbooks) PostProposal(context.Context, *incident.Incident, *runbook.Checklist, string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proposals++
	return nil
}

func TestRunbookLifecycle(t *testing.T) {
	e := newEnv(t)
	rb := &fakeRunbooks{}
	e.app.runbooks = rb
	md := "# First\n- [ ] Page the build team\n- [ ] [rm] Freeze deploys\n- [ ] Restart"
	if _, err := e.app.SetRunbook(ctx, "alice", "build-server", "", md); !errors.Is(err, incident.ErrForbidden) {
		t.Fatalf("non-admin set: %v", err)
	}
	if _, err := e.app.SetRunbook(ctx, "root", "build-server", "When the build server dies", "- [x] bad"); !errors.Is(err, incident.ErrInvalid) {
		t.Fatalf("bad markdown: %v", err)
	}
	d, err := e.app.SetRunbook(ctx, "root", "Build-Server", "When the build server dies", md)
	if err != nil || d.Version != 1 || d.Name != "build-server" {
		t.Fatalf("set: %+v %v", d, err)
	}
	list, err := e.app.Runbooks(ctx)
	if err != nil || len(list) != 1 || list[0].Version != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "x", Runbook: "nope"}); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("start with unknown runbook: %v", err)
	}
	inc, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "Build server down", Severity: incident.S2, Runbook: "build-server"})
	if err != nil {
		t.Fatal(err)
	}
	if rb.posts != 1 {
		t.Fatalf("checklist posted %d times", rb.posts)
	}
	inc, _ = e.store.GetIncident(ctx, inc.ID)
	if inc.Runbook == nil || inc.Runbook.Total != 3 || inc.Runbook.Closed != 0 {
		t.Fatalf("progress %+v", inc.Runbook)
	}

	// Two presses at once: one completion.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.app.StepDone(ctx, []string{"bob", "carol"}[i], inc, 1) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("two presses: %v / %v", errs[0], errs[1])
	}
	if _, err := e.app.StepSkip(ctx, "bob", inc, 2, "no deploys today"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.StepUndo(ctx, "bob", inc, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.StepAdd(ctx, "bob", inc, "Check the disk", incident.RoleL1); err != nil {
		t.Fatal(err)
	}
	e.acc["private"] = "zed"
	hidden := inc.Clone()
	hidden.ChannelID = "private"
	if _, err := e.app.StepDone(ctx, "bob", hidden, 3); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("outsider: %v", err)
	}
	inc, _ = e.store.GetIncident(ctx, inc.ID)
	if inc.Runbook.Closed != 1 || inc.Runbook.Total != 4 {
		t.Fatalf("progress %+v", inc.Runbook)
	}
	tl, _ := e.store.TimelineTail(ctx, inc.ID, 100)
	got := types(tl)
	for _, want := range []string{"runbook_attached", "step_done", "step_skipped", "step_undone", "step_added"} {
		if strings.Count(got, want) != 1 {
			t.Errorf("timeline %s: want one %s", got, want)
		}
	}

	if _, err := e.app.ApplyProposedSteps(ctx, "bob", inc); !errors.Is(err, incident.ErrForbidden) {
		t.Fatalf("non-admin apply: %v", err)
	}
	nd, err := e.app.ApplyProposedSteps(ctx, "root", inc)
	if err != nil || nd.Version != 2 || len(nd.Steps) != 4 {
		t.Fatalf("apply: %+v %v", nd, err)
	}
	if _, err := e.app.ApplyProposedSteps(ctx, "root", inc); !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("apply twice: %v", err)
	}
	c, _, _ := e.app.Checklist(ctx, inc)
	if c.Version != 1 || c.Applied != 2 {
		t.Fatalf("checklist keeps version 1: %+v", c)
	}
	if err := e.app.RemoveRunbook(ctx, "root", "build-server"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Runbook(ctx, "build-server"); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("removed: %v", err)
	}
	if old, err := e.app.RunbookVersion(ctx, "build-server", 1); err != nil || old.Version != 1 {
		t.Fatalf("old version: %+v %v", old, err)
	}
}

func TestRunbookRuleAtStart(t *testing.T) {
	e := newEnv(t)
	rules, err := runbook.ParseRules("alertname=BuildServerDown -> build-server")
	if err != nil {
		t.Fatal(err)
	}
	e.app.settings = func() Settings { return Settings{BroadcastChannelID: "bc", RunbookRules: rules} }
	if _, err := e.app.SetRunbook(ctx, "root", "build-server", "", "- [ ] a"); err != nil {
		t.Fatal(err)
	}
	inc, err := e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "x", Labels: map[string]string{"alertname": "BuildServerDown"}})
	if err != nil {
		t.Fatal(err)
	}
	c, ok, err := e.app.Checklist(ctx, inc)
	if err != nil || !ok || c.Runbook != "build-server" || !strings.HasPrefix(c.Why, "rule ") {
		t.Fatalf("checklist %+v %v %v", c, ok, err)
	}
	other := e.start(t, "unrelated")
	if _, ok, _ := e.app.Checklist(ctx, other); ok {
		t.Fatal("unmatched incident got a runbook")
	}
	if _, err := e.app.UseRunbook(ctx, "alice", other, "build-server"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.UseRunbook(ctx, "alice", other, "build-server"); !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("use twice: %v", err)
	}
}
