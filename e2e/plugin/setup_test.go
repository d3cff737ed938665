package plugin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// /incident setup, as a new admin goes through it: the first dialog (the
// server's channel pickers, the handoff), the step by direct message, the
// second dialog (user pickers per role), and the test incident, whose page
// reaches the first line picked in the private rota channel picked.
func TestSetupThroughItsDialogs(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=6s, S2=6s, S3=6s, S4=off", "5s")
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(context.Background(), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id, "PostmortemChannelID": ""}); err != nil {
			t.Error(err)
		}
	})
	name := "setup" + uniq()
	l1, l1b, im := newUser(t, ctx, name+"-l1"), newUser(t, ctx, name+"-l1b"), newUser(t, ctx, name+"-im")
	bc, err := srv.NewChannel(ctx, name+"-news", false)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := srv.NewChannel(ctx, name+"-pm", false)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := srv.NewChannel(ctx, name+"-oncall", true, l1, l1b, im) // private: the bot is not in it
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "rota create", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident rota create "+name).Text, "made")
	mustContain(t, "not an admin", cmd(t, l1, srv.TownSquare.Id, "/incident setup").Text, "only system admins run the setup")

	w, err := srv.Watch(ctx, srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	dialog := func(mark int, callback string) *model.OpenDialogRequest {
		t.Helper()
		s, err := w.Wait(ctx, mark, wait, func(s harness.Seen) bool {
			return s.Kind == model.WebsocketEventOpenDialog && s.Dialog.Dialog.CallbackId == callback
		})
		if err != nil {
			for _, s := range w.Since(mark) {
				if s.Post != nil {
					t.Logf("seen %s: %s", s.Kind, s.Post.Message)
				}
			}
			t.Fatalf("dialog %s: %v", callback, err)
		}
		return s.Dialog
	}
	element := func(d *model.OpenDialogRequest, name string) model.DialogElement {
		t.Helper()
		for _, e := range d.Dialog.Elements {
			if e.Name == name {
				return e
			}
		}
		t.Fatalf("dialog %s has no element %s", d.Dialog.CallbackId, name)
		return model.DialogElement{}
	}
	submit := func(d *model.OpenDialogRequest, sub map[string]any) *model.SubmitDialogResponse {
		t.Helper()
		resp, err := srv.SubmitDialog(ctx, srv.Admin, model.SubmitDialogRequest{URL: d.URL, CallbackId: d.Dialog.CallbackId, State: d.Dialog.State,
			ChannelId: srv.TownSquare.Id, TeamId: srv.Team.Id, Submission: sub})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	dm, _, err := srv.Admin.Client.CreateDirectChannel(ctx, srv.Admin.Id, botUser.Id)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()

	// Step 1: the channels, with the server's channel picker, and the handoff.
	mark := w.Mark()
	mustContain(t, "setup", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident setup --rota "+name).Text, "fill in the dialog")
	d1 := dialog(mark, "setupchannels")
	for _, f := range []string{"broadcast", "postmortem", "rotachannel"} {
		if e := element(d1, f); e.Type != "select" || e.DataSource != "channels" {
			t.Errorf("%s: type %q, data source %q; want the channel picker", f, e.Type, e.DataSource)
		}
	}
	if e := element(d1, "day"); e.Default != "Monday" || len(e.Options) != 7 {
		t.Errorf("day: default %q, %d options", e.Default, len(e.Options))
	}
	good := map[string]any{"broadcast": bc.Id, "postmortem": pm.Id, "rotachannel": rc.Id, "day": "Tuesday", "time": "08:30", "zone": "Europe/Berlin"}
	with := func(k, v string) map[string]any {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	if r := submit(d1, with("zone", "Mars/Olympus")); !strings.Contains(r.Errors["zone"], "not a time zone") {
		t.Errorf("bad zone: %+v", r)
	}
	if r := submit(d1, with("time", "25:99")); !strings.Contains(r.Errors["time"], "time of day") {
		t.Errorf("bad time: %+v", r)
	}
	if r := submit(d1, with("rotachannel", dm.Id)); !strings.Contains(r.Errors["rotachannel"], "direct or group message") {
		t.Errorf("a direct message as rota channel: %+v", r)
	}
	if r := submit(d1, good); r.Error != "" || len(r.Errors) > 0 {
		t.Fatalf("setup dialog refused: %+v", r)
	}
	step2 := waitPost(t, srv.Admin, dm.Id, "step 2 of 3", "~"+bc.Name, "~"+pm.Name, "~"+rc.Name, "CRON_TZ=Europe/Berlin 30 8 * * TUE")
	mustContain(t, "rota show", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident rota show --rota "+name).Text, "CRON_TZ=Europe/Berlin 30 8 * * TUE", "~"+rc.Name)
	harness.Eventually(t, wait, "the settings name the picked channels", func() (bool, error) {
		r, err := srv.Admin.Client.DoAPIGet(ctx, "/config", "")
		if err != nil {
			return false, err
		}
		defer r.Body.Close()
		var cfg struct {
			PluginSettings struct{ Plugins map[string]map[string]any }
		}
		if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
			return false, err
		}
		s := cfg.PluginSettings.Plugins[pluginID]
		return s["broadcastchannelid"] == bc.Id && s["postmortemchannelid"] == pm.Id, nil
	})

	// Step 2: the people, one user picker per role and week.
	mark = w.Mark()
	if _, err := srv.ClickButton(ctx, srv.Admin, step2.Id, "setupmembers"); err != nil {
		t.Fatal(err)
	}
	d2 := dialog(mark, "setupmembers")
	if e := element(d2, "l1_1"); e.Type != "select" || e.DataSource != "users" {
		t.Errorf("l1_1: type %q, data source %q; want the user picker", e.Type, e.DataSource)
	}
	if r := submit(d2, map[string]any{"l1_1": l1.Id, "l1_2": l1b.Id, "im_1": im.Id}); r.Error != "" || len(r.Errors) > 0 {
		t.Fatalf("members dialog refused: %+v", r)
	}
	step3 := waitPost(t, srv.Admin, dm.Id, "step 3 of 3", "First line this week: @"+l1.Username, "Incident manager this week: @"+im.Username)

	// Step 3: the test incident pages the first line in the rota channel.
	mark = w.Mark()
	if _, err := srv.ClickButton(ctx, srv.Admin, step3.Id, "setuptest"); err != nil {
		t.Fatal(err)
	}
	reply, err := w.Wait(ctx, mark, wait, func(s harness.Seen) bool {
		return s.Kind == model.WebsocketEventEphemeralMessage && strings.Contains(s.Post.Message, "Test incident")
	})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "test reply", reply.Post.Message, "(S3) started", "@"+l1.Username+" is paged in ~"+rc.Name)
	waitPagePost(t, ctx, l1, rc.Id, l1)
	t.Logf("from /incident setup to the test page in the rota channel: %s (dialogs filled by the test)", time.Since(began).Round(time.Millisecond))
	announced := waitPost(t, srv.Admin, bc.Id, "Test incident from the setup")
	id := announced.GetProp("incident_id").(string)
	cmd(t, srv.Admin, srv.TownSquare.Id, "/incident resolve #"+id+" setup test")

	// Only a system admin's submission counts, whatever it claims.
	resp, err := srv.SubmitDialog(ctx, l1, model.SubmitDialogRequest{URL: d2.URL, CallbackId: d2.Dialog.CallbackId, State: d2.Dialog.State,
		ChannelId: srv.TownSquare.Id, TeamId: srv.Team.Id, Submission: map[string]any{"l1_1": l1b.Id}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Error+strings.Join(mapValues(resp.Errors), " "), "only system admins") {
		t.Errorf("a non-admin's setup submission: %+v", resp)
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
