package plugin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
)

func TestCardButtonsDriveTheLifecycle(t *testing.T) {
	dave := srv.Users[3]
	s := start(t, dave, "Login errors --severity S3")

	if _, err := srv.SelectOption(ctxT(t), dave, s.Card.Id, "severity", "S1"); err != nil {
		t.Fatal(err)
	}
	waitCard(t, dave, s, "severity S1 on card", func(p *model.Post) bool { return cardField(p, "Severity") == "S1 (critical)" })

	if _, err := srv.ClickButton(ctxT(t), dave, s.Card.Id, "mitigate"); err != nil {
		t.Fatal(err)
	}
	c := waitCard(t, dave, s, "mitigated on card", func(p *model.Post) bool { return cardField(p, "Status") == "Mitigated" })
	if got := strings.Join(cardActions(c), ","); got != "update,hotfix,resolve,severity" {
		t.Errorf("actions after mitigate = %s", got)
	}

	// Buttons that need text open a dialog; the dialog's submission does the work.
	if _, err := srv.ClickButton(ctxT(t), dave, s.Card.Id, "update"); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.SubmitDialog(ctxT(t), dave, model.SubmitDialogRequest{
		URL: "/plugins/" + pluginID + "/api/v1/dialogs/update", CallbackId: "update", State: s.ID,
		ChannelId: s.Channel.Id, TeamId: srv.Team.Id, Submission: map[string]any{"text": "Sessions restored for 90% of users"},
	})
	if err != nil || resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("update dialog: %v %+v", err, resp)
	}
	waitPost(t, dave, broadcast.Id, "#"+s.ID, "Sessions restored for 90% of users")
	waitCard(t, dave, s, "last update on card", func(p *model.Post) bool { return cardField(p, "Last update") != "" })

	resp, err = srv.SubmitDialog(ctxT(t), dave, model.SubmitDialogRequest{
		URL: "/plugins/" + pluginID + "/api/v1/dialogs/resolve", CallbackId: "resolve", State: s.ID,
		ChannelId: s.Channel.Id, TeamId: srv.Team.Id, Submission: map[string]any{"summary": "Expired cert replaced"},
	})
	if err != nil || resp.Error != "" {
		t.Fatalf("resolve dialog: %v %+v", err, resp)
	}
	c = waitCard(t, dave, s, "resolved on card", func(p *model.Post) bool { return cardField(p, "Status") == "Resolved" })
	mustContain(t, "resolution", cardField(c, "Resolution"), "Expired cert replaced")
	if got := strings.Join(cardActions(c), ","); got != "reopen" {
		t.Errorf("actions after resolve = %s", got)
	}
	if _, err := srv.ClickButton(ctxT(t), dave, s.Card.Id, "reopen"); err != nil {
		t.Fatal(err)
	}
	waitCard(t, dave, s, "reopened on card", func(p *model.Post) bool { return cardField(p, "Status") == "Open" })

	tl := cmd(t, dave, s.Channel.Id, "/incident timeline").Text
	mustContain(t, "timeline after buttons", tl, "severity changed S3 → S1", "mitigated", "Sessions restored", "Expired cert replaced", "reopened")
}

func TestStartDialog(t *testing.T) {
	erin := srv.Users[4]
	before := incidentChannels(t)
	submit := func(sub map[string]any) *model.SubmitDialogResponse {
		resp, err := srv.SubmitDialog(ctxT(t), erin, model.SubmitDialogRequest{
			URL: "/plugins/" + pluginID + "/api/v1/dialogs/start", CallbackId: "start",
			ChannelId: srv.TownSquare.Id, TeamId: srv.Team.Id, Submission: sub,
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := submit(map[string]any{"title": "   ", "severity": "S2"}); r.Errors["title"] == "" {
		t.Errorf("empty title accepted: %+v", r)
	}
	if r := submit(map[string]any{"title": "x", "severity": "S9"}); r.Errors["severity"] == "" {
		t.Errorf("bad severity accepted: %+v", r)
	}
	if n := incidentChannels(t); n != before {
		t.Fatalf("refused dialogs created %d channels", n-before)
	}
	if r := submit(map[string]any{"title": "Queue backlog", "severity": "S2", "summary": "Jobs 20 min late"}); r.Error != "" || len(r.Errors) > 0 {
		t.Fatalf("valid dialog refused: %+v", r)
	}
	waitPost(t, erin, broadcast.Id, "Queue backlog", "S2")
	if n := incidentChannels(t); n != before+1 {
		t.Errorf("start dialog made %d channels, want 1", n-before)
	}
}

func TestButtonsRefuseForgedAndForeignRequests(t *testing.T) {
	frank, gina := srv.Users[5], srv.Users[6]
	s := start(t, frank, "Private matter")
	ctx := ctxT(t)

	// No session: the server sets no user header, the plugin refuses.
	url := srv.URL + "/plugins/" + pluginID + "/api/v1/actions/mitigate"
	body := `{"user_id":"` + frank.Id + `","post_id":"` + s.Card.Id + `","context":{"incident_id":"` + s.ID + `"}}`
	r, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous action: status %d, want 401", r.StatusCode)
	}

	// A logged-in user posting a body that claims to be someone else.
	resp, err := gina.Client.DoAPIRequestWithHeaders(ctx, http.MethodPost, srv.URL+"/plugins/"+pluginID+"/api/v1/actions/mitigate", body, nil)
	if err == nil {
		resp.Body.Close()
		t.Errorf("forged user_id accepted: status %d", resp.StatusCode)
	}

	// A user's own post with a button aimed at our route is not our card.
	fake := &model.Post{ChannelId: s.Channel.Id, Message: "click me"}
	if _, _, err := srv.Admin.Client.AddChannelMember(ctx, s.Channel.Id, gina.Id); err != nil {
		t.Fatal(err)
	}
	fake.AddProp("attachments", []*model.MessageAttachment{{Actions: []*model.PostAction{{Id: "mitigate", Name: "Mitigate", Type: "button",
		Integration: &model.PostActionIntegration{URL: "/plugins/" + pluginID + "/api/v1/actions/mitigate", Context: map[string]any{"incident_id": s.ID}}}}}})
	fake, _, err = gina.Client.CreatePost(ctx, fake)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ClickButton(ctx, gina, fake.Id, "mitigate"); err == nil {
		t.Errorf("a button on a user's post acted on the incident")
	}
	if got := cardField(card(t, frank, s), "Status"); got != "Open" {
		t.Fatalf("incident changed by a forged request: status %s", got)
	}
	tl := cmd(t, frank, s.Channel.Id, "/incident timeline").Text
	if strings.Contains(tl, "mitigated") {
		t.Errorf("forged request reached the timeline:\n%s", tl)
	}
}
