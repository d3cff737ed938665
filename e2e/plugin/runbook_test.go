package plugin_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// checklistPost waits for the runbook checklist post of an incident.
func checklistPost(t *testing.T, ctx context.Context, u *harness.User, channelID, incidentID string) *model.Post {
	t.Helper()
	var found *model.Post
	harness.Eventually(t, wait, "checklist post of #"+incidentID, func() (bool, error) {
		posts, err := srv.Posts(ctx, u, channelID)
		if err != nil {
			return false, err
		}
		for _, p := range posts {
			if p.UserId == botUser.Id && p.GetProp("incident_id") == incidentID && p.GetProp("runbook_checklist") != nil {
				found = p
				return true, nil
			}
		}
		return false, nil
	})
	return found
}

// TestRunbookOnTheRealServer: an admin writes runbooks (by command and by
// dialog); one chosen at start and one picked by an alert label post
// their checklists, mentioning the role holders of their steps; steps are
// done, skipped (with a reason from the dialog) and undone by button and
// by command; two people pressing Done at once complete the step once;
// the card shows the progress; the postmortem has the Runbook section; a
// step added during the incident is proposed as a runbook change, which
// an admin applies as a new version while a running incident keeps its
// version.
func TestRunbookOnTheRealServer(t *testing.T) {
	ctx := ctxT(t)
	p := "rb" + uniq()
	const token = "e2e-runbook-alert-token-3b7e1d"
	alertName := "BuildServerDown" + p
	book1, book2 := p+"-build", p+"-alert"
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id,
		"EscalationTimeouts": "S1=off, S2=off, S3=off, S4=off", "UpdateCadence": "S1=off, S2=off, S3=off, S4=off",
		"AlertmanagerToken": token, "RunbookRules": "S1 -> " + p + "-missing\nalertname=" + alertName + " -> " + book2}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(context.Background(), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id}); err != nil {
			t.Error(err)
		}
	})
	r := newPagingRota(t, ctx, p)
	im, l1, l2 := r.holder["im"], r.holder["l1"], r.holder["l2"]

	// Admins write runbooks; others may not; bad Markdown is refused with
	// its line.
	md := "# First ten minutes\n- [ ] [im] Post the first status update\n- [ ] [l1] Check the build dashboards\n- [ ] Tell support\n## Recovery\n- [ ] [l2] Restart the build agent\n"
	mustContain(t, "non-admin set", cmd(t, r.starter, srv.TownSquare.Id, "/incident runbook set "+book1+"\n"+md).Text, "only system admins and rota admins")
	mustContain(t, "bad markdown", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident runbook set "+book1+"\n- [ ] ok\n- [ ] [boss] nope").Text, "line 2", "unknown role")
	mustContain(t, "set by command", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident runbook set "+book1+"\n"+md).Text, "saved as version 1 (4 steps)")
	submitRunbook := func(u *harness.User, name, markdown string) *model.SubmitDialogResponse {
		resp, err := srv.SubmitDialog(ctx, u, model.SubmitDialogRequest{URL: "/plugins/" + pluginID + "/api/v1/dialogs/runbook",
			CallbackId: "runbook", State: name, ChannelId: srv.TownSquare.Id,
			Submission: map[string]any{"description": "When the build server is down", "markdown": markdown}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := submitRunbook(r.starter, book2, "- [ ] a"); resp.Error == "" {
		t.Fatalf("a non-admin saved a runbook: %+v", resp)
	}
	if resp := submitRunbook(srv.Admin, book2, "- [x] done already"); resp.Errors["markdown"] == "" {
		t.Fatalf("bad markdown accepted: %+v", resp)
	}
	if resp := submitRunbook(srv.Admin, book2, "- [ ] [l1] Check the agent's disk\n- [ ] [rm] Freeze deploys"); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("runbook dialog: %+v", resp)
	}
	list := cmd(t, r.starter, srv.TownSquare.Id, "/incident runbook list").Text
	mustContain(t, "runbook list", list, book1, book2, "When the build server is down")
	mustContain(t, "runbook show", cmd(t, r.starter, srv.TownSquare.Id, "/incident runbook show "+book1).Text, "version 1", "Restart the build agent")

	// A runbook chosen at start: the checklist mentions each step's role
	// holder on this incident.
	s := start(t, r.starter, "Build server down "+p+" --severity S4 --runbook "+book1)
	post := checklistPost(t, ctx, r.starter, s.Channel.Id, s.ID)
	mustContain(t, "checklist", post.Message, "Runbook **"+book1+"** (version 1)", "0 of 4 steps",
		"@"+im.Username+" (Incident manager): steps 1", "@"+l1.Username+" (First line): steps 2", "@"+l2.Username+" (Second line): steps 4")
	waitCard(t, r.starter, s, "card shows runbook progress", func(c *model.Post) bool {
		return strings.Contains(cardField(c, "Runbook"), "0 of 4 steps")
	})

	// Done by button; two presses at once complete step 2 once.
	click(t, ctx, im, post.Id, "Done")
	waitPostAs(t, ctx, im, post.Id, "Done by @\u200b"+im.Username)
	var wg sync.WaitGroup
	for _, u := range []*harness.User{l1, l2} {
		wg.Go(func() {
			if _, err := srv.ClickButton(ctx, u, post.Id, "stepdone2"); err != nil {
				t.Errorf("%s presses Done: %v", u.Username, err)
			}
		})
	}
	wg.Wait()
	got := waitPostAs(t, ctx, l1, post.Id, "✅ **2.**")
	if n := strings.Count(harness.PostText(got), "Done by"); n != 2 {
		t.Fatalf("after the concurrent presses %d steps are done, want 2:\n%s", n, harness.PostText(got))
	}

	// Skip by button asks for a reason in a dialog; without one it is refused.
	click(t, ctx, l1, post.Id, "Skip")
	skip := func(n int, reason string) *model.SubmitDialogResponse {
		resp, err := srv.SubmitDialog(ctx, l1, model.SubmitDialogRequest{URL: "/plugins/" + pluginID + "/api/v1/dialogs/stepskip",
			CallbackId: "stepskip", State: fmt.Sprintf("%s/%d", s.ID, n), ChannelId: s.Channel.Id, Submission: map[string]any{"reason": reason}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := skip(3, " "); resp.Errors["reason"] == "" {
		t.Fatalf("a skip without a reason was accepted: %+v", resp)
	}
	if resp := skip(3, "Support is on holiday"); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("skip refused: %+v", resp)
	}
	waitPostAs(t, ctx, l1, post.Id, "Skipped by @\u200b"+l1.Username)

	// Undo by button, then the same by command.
	if _, err := srv.ClickButton(ctx, im, post.Id, "stepundo1"); err != nil {
		t.Fatal(err)
	}
	waitPostAs(t, ctx, im, post.Id, "⬜ **1.**")
	mustContain(t, "step done", cmd(t, im, s.Channel.Id, "/incident step done 1").Text, "Step 1 of #"+s.ID+" is done")
	mustContain(t, "step done twice", cmd(t, l1, s.Channel.Id, "/incident step done 1").Text, "step 1 is done already")
	mustContain(t, "step skip", cmd(t, l2, s.Channel.Id, "/incident step skip 4 the agent came back").Text, "is skipped")
	mustContain(t, "step undo", cmd(t, l2, s.Channel.Id, "/incident step undo 4").Text, "is open again")
	mustContain(t, "step add", cmd(t, l2, s.Channel.Id, "/incident step add Check the agent's disk space l2").Text, "Step 5 added")
	waitPostAs(t, ctx, l2, post.Id, "Check the agent's disk space")
	waitCard(t, r.starter, s, "card shows runbook progress", func(c *model.Post) bool {
		return strings.Contains(cardField(c, "Runbook"), "3 of 5 steps")
	})
	tl := waitCmd(t, im, s.Channel.Id, "/incident timeline", "runbook attached", "step done: Post the first status update", "step skipped: Tell support",
		"step undone: Post the first status update", "step added: Check the agent's disk space")
	if n := strings.Count(tl, "step done: Check the build dashboards"); n != 1 {
		t.Fatalf("step 2 done %d times on the timeline, want 1:\n%s", n, tl)
	}

	// A runbook picked by an alert's label. The week's release manager
	// rota starts with the incident manager, who keeps the higher role, so
	// the next release manager substitutes and is mentioned for the
	// release manager's step; whoever takes the role over later is
	// mentioned in the checklist's thread.
	rm, rmNew := newUser(t, ctx, p+"-rm"), newUser(t, ctx, p+"-rm2")
	mustContain(t, "rota set rm", cmd(t, srv.Admin, r.channel.Id, "/incident rota set rm @"+im.Username+" @"+rm.Username).Text, "rota set")
	t.Cleanup(func() {
		for _, u := range []*harness.User{im, rm} {
			if _, err := srv.ExecuteCommand(context.Background(), srv.Admin, r.channel.Id, "/incident rota remove rm @"+u.Username); err != nil {
				t.Error(err)
			}
		}
	})
	code, res := postAlert(t, alertsURL("alertmanager"), token, true, amPayload("firing", fmt.Sprintf("%016x", time.Now().UnixNano()), alertName))
	if code != http.StatusOK || res["opened"] != float64(1) {
		t.Fatalf("alert: %d %v", code, res)
	}
	alertID := res["incidents"].([]any)[0].(string)
	mustContain(t, "alert checklist", waitCmd(t, srv.Admin, srv.TownSquare.Id, "/incident step #"+alertID+" list", book2), "version 1", "Check the agent's disk")
	alertCh, _, err := srv.Admin.Client.GetChannelByName(ctx, "incident-"+alertID+"-"+strings.ToLower(alertName)+"-on-db-1", srv.Team.Id, "")
	if err != nil {
		t.Fatalf("alert incident channel: %v", err)
	}
	alertPost := checklistPost(t, ctx, srv.Admin, alertCh.Id, alertID)
	mustContain(t, "substituted release manager mentioned", alertPost.Message, "@"+rm.Username+" (Release manager): steps 2", "@"+l1.Username+" (First line): steps 1")
	mustContain(t, "substitution", waitCmd(t, srv.Admin, srv.TownSquare.Id, "/incident timeline "+alertID, "substitution, Release manager"), "@"+rm.Username)
	mustContain(t, "handover rm", cmd(t, rm, alertCh.Id, "/incident handover rm @"+rmNew.Username).Text, "requested")
	hp := waitPost(t, rmNew, alertCh.Id, "asks you to take over **Release manager**")
	if _, err := srv.ClickButton(ctx, rmNew, hp.Id, "acceptrm"); err != nil {
		t.Fatal(err)
	}
	reply := waitPost(t, rmNew, alertCh.Id, "Runbook steps for the new role holders", "@"+rmNew.Username+" (Release manager): steps 2")
	if reply.RootId != alertPost.Id {
		t.Fatalf("the new holder's mention is not in the checklist's thread: %+v", reply)
	}
	waitPostAs(t, ctx, rmNew, alertPost.Id, "Release manager @\u200b"+rmNew.Username)

	// The start dialog's runbook select.
	title := "Dialog start " + p
	resp, err := srv.SubmitDialog(ctx, r.starter, model.SubmitDialogRequest{URL: "/plugins/" + pluginID + "/api/v1/dialogs/start", CallbackId: "start",
		ChannelId: srv.TownSquare.Id, TeamId: srv.Team.Id, Submission: map[string]any{"title": title, "severity": "S4", "runbook": book2}})
	if err != nil || resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("start dialog: %+v %v", resp, err)
	}
	// The id may link to the incident's page: [`id`](url).
	row := regexp.MustCompile("`([a-z0-9]+)`(?:\\]\\([^)]*\\))? \\| S4 \\| [^|]+\\| " + regexp.QuoteMeta(title)).FindStringSubmatch(waitCmd(t, r.starter, srv.TownSquare.Id, "/incident list", title))
	if row == nil {
		t.Fatalf("incident %q not listed", title)
	}
	mustContain(t, "dialog runbook", cmd(t, r.starter, srv.TownSquare.Id, "/incident step #"+row[1]+" list").Text, "`"+book2+"` version 1")

	// Another incident follows book1 version 1 while the change is applied.
	s2 := start(t, r.starter, "Build server down again "+p+" --severity S4")
	mustContain(t, "use", cmd(t, r.starter, s2.Channel.Id, "/incident runbook use "+book1).Text, "follows runbook `"+book1+"` version 1")

	// The postmortem's Runbook section; the added step is proposed as a
	// change, which only an admin applies.
	cmd(t, im, s.Channel.Id, "/incident resolve Agent restarted")
	pm := waitPost(t, im, s.Channel.Id, "## Runbook")
	mustContain(t, "postmortem", harness.PostText(pm), "Runbook `"+book1+"`, version 1", "**Done**", "Check the build dashboards", "**Skipped**",
		"Support is on holiday", "**Left open**", "Restart the build agent", "**Proposed runbook changes**", "Check the agent's disk space")
	proposal := waitPost(t, im, s.Channel.Id, "Proposed change to runbook `"+book1+"`")
	click(t, ctx, im, proposal.Id, "Apply to runbook")
	mustContain(t, "not applied by non-admin", cmd(t, im, srv.TownSquare.Id, "/incident runbook show "+book1).Text, "version 1")
	click(t, ctx, srv.Admin, proposal.Id, "Apply to runbook")
	waitCmd(t, srv.Admin, srv.TownSquare.Id, "/incident runbook show "+book1, "version 2", "Check the agent's disk space")
	mustContain(t, "running incident keeps its version", cmd(t, r.starter, s2.Channel.Id, "/incident step list").Text, "`"+book1+"` version 1", "0 of 4 steps")
	mustContain(t, "removed", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident runbook remove "+book2).Text, "removed")
	for _, id := range []string{s2.ID, alertID, row[1]} {
		mustContain(t, "resolve #"+id, cmd(t, srv.Admin, srv.TownSquare.Id, "/incident resolve #"+id+" test done").Text, "resolved")
	}
}
