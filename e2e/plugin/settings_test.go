package plugin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// Settings never silently change: a rota admin renamed after the settings
// were saved, or saved settings the plugin cannot read (a 6.7.2 server
// saves anything), must not turn private incident channels public or lock
// out the alert webhooks after a restart.
func TestSettingsSurviveARenameAndUnreadableSettingsAcrossRestarts(t *testing.T) {
	ctx := ctxT(t)
	id := uniq()
	token := "e2e-settings-token-" + id
	admin := newUser(t, ctx, "radm"+id)
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id,
		"PrivateChannels": true, "AlertmanagerToken": token, "RotaAdmins": "@" + admin.Username,
		"EscalationTimeouts": "S1=off, S2=off, S3=off, S4=off"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id,
			"PrivateChannels": false, "AlertmanagerToken": "", "RotaAdmins": "", "EscalationTimeouts": ""}); err != nil {
			t.Error(err)
		}
		if err := srv.RestartPlugin(ctx, pluginID); err != nil {
			t.Error(err)
		}
	})
	u := srv.Users[2]
	checkInForce := func(when string) {
		t.Helper()
		s := start(t, u, "Settings check "+when+" "+id+" --severity S3")
		if s.Channel.Type != model.ChannelTypePrivate {
			t.Errorf("%s: incident channel %s is %q, want private (P)", when, s.Channel.Name, s.Channel.Type)
		}
		code, res := postAlert(t, alertsURL("alertmanager"), token, true, amPayload("firing", "feed"+id+strings.ReplaceAll(when, " ", ""), "SettingsCheck"+id))
		if code != http.StatusOK {
			t.Errorf("%s: alert answered %d %v, want 200", when, code, res)
		}
		cmd(t, u, s.Channel.Id, "/incident resolve")
	}
	checkInForce("before")

	// Rename the rota admin (a normal admin action), then restart.
	renamed := "radm" + id + "x"
	if _, _, err := srv.Admin.Client.PatchUser(ctx, admin.Id, &model.UserPatch{Username: &renamed}); err != nil {
		t.Fatal(err)
	}
	if err := srv.RestartPlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	checkInForce("after a rename")
	waitAdminNotice(t, ctx, "no user @radm"+id, "Rota admins")

	// Settings that cannot be read are refused, and after a restart the
	// last good ones stay in force, never the defaults.
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"EscalationTimeouts": "S1=soon, S2=off, S3=off, S4=off"}); err != nil {
		t.Fatal(err)
	}
	waitAdminNotice(t, ctx, "the new settings were not applied", `"soon" is not a duration`)
	if err := srv.RestartPlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	checkInForce("after unreadable settings and a restart")
	waitAdminNotice(t, ctx, "the settings last applied", "stay in force", `"soon" is not a duration`)
}

// waitAdminNotice waits for a direct message from the bot to the system
// admin that contains every one of want.
func waitAdminNotice(t *testing.T, ctx context.Context, want ...string) {
	t.Helper()
	ch, err := srv.DirectChannel(ctx, srv.Admin, &harness.User{User: botUser})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		posts, err := srv.Posts(ctx, srv.Admin, ch.Id)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range posts {
			if containsAll(p.Message, want...) {
				return
			}
		}
		if time.Now().After(deadline) {
			var last []string
			for i := len(posts) - 1; i >= 0 && i >= len(posts)-3; i-- {
				last = append(last, posts[i].Message)
			}
			t.Fatalf("no notice to the admin with %q; latest:\n%s", want, strings.Join(last, "\n---\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
