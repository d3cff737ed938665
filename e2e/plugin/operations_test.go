package plugin_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// TestInvalidSettingsKeepTheLastValidOnes: 6.7.2 has no
// ConfigurationWillBeSaved, so a bad value is saved; the plugin must keep
// working with the previous settings and tell the admins.
func TestInvalidSettingsKeepTheLastValidOnes(t *testing.T) {
	ctx := ctxT(t)
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": "not-a-channel", "DefaultSeverity": "S9"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(ctxT(t), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id, "DefaultSeverity": "S3"}); err != nil {
			t.Error(err)
		}
	})
	dm, _, err := srv.Admin.Client.CreateDirectChannel(ctx, srv.Admin.Id, botUser.Id)
	if err != nil {
		t.Fatal(err)
	}
	notice := waitPost(t, srv.Admin, dm.Id, "previous ones stay in force", "not-a-channel")
	mustContain(t, "admin notice", notice.Message, "\"Broadcast channel\"", "\"Default severity\"")

	s := start(t, srv.Users[0], "Settings were broken")
	if got := cardField(s.Card, "Severity"); got != "S3 (minor)" {
		t.Errorf("severity with a refused default = %q, want the last valid S3", got)
	}
	waitPost(t, srv.Users[0], broadcast.Id, "#"+s.ID, "Settings were broken")
}

// TestRestartKeepsIncidentsAndBot: after disable/enable the plugin finds its
// bot again (6.7.2 lacks EnsureBotUser) and every incident works from the
// KV store alone.
func TestRestartKeepsIncidentsAndBot(t *testing.T) {
	ctx := ctxT(t)
	alice := srv.Users[0]
	s := start(t, alice, "Survives a restart")
	if err := srv.DisablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	if err := srv.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	again, _, err := srv.Admin.Client.GetUserByUsername(ctx, "incident", "")
	if err != nil || again.Id != botUser.Id || !again.IsBot {
		t.Fatalf("bot after restart: %+v %v (before: %s)", again, err, botUser.Id)
	}
	mustContain(t, "update after restart", cmd(t, alice, s.Channel.Id, "/incident update still here").Text, "Status update posted")
	if _, err := srv.ClickButton(ctx, alice, s.Card.Id, "mitigate"); err != nil {
		t.Fatal(err)
	}
	waitCard(t, alice, s, "card works after restart", func(p *model.Post) bool { return cardField(p, "Status") == "Mitigated" })
	tl := cmd(t, alice, s.Channel.Id, "/incident timeline").Text
	mustContain(t, "timeline after restart", tl, "started", "still here", "mitigated")
}

// TestDeployTool runs what `make deploy` runs against this server.
func TestDeployTool(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.CommandContext(ctxT(t), "go", "run", "./e2e/cmd/deploy", "-bundle", bundle, "-plugin-id", pluginID)
	c.Dir = root
	c.Env = append(os.Environ(), "MM_SERVICESETTINGS_SITEURL="+srv.URL, "MM_ADMIN_TOKEN="+srv.Admin.Client.AuthToken)
	out, err := c.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is running") {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	c = exec.CommandContext(ctxT(t), "go", "run", "./e2e/cmd/deploy", "-bundle", bundle, "-plugin-id", pluginID)
	c.Dir = root
	c.Env = append(os.Environ(), "MM_SERVICESETTINGS_SITEURL=", "MM_ADMIN_TOKEN=")
	if out, err := c.CombinedOutput(); err == nil || !strings.Contains(string(out), "MM_ADMIN_TOKEN") {
		t.Errorf("deploy without settings should explain them: %v\n%s", err, out)
	}
	harness.Eventually(t, wait, "plugin answers after redeploy", func() (bool, error) {
		r, err := srv.ExecuteCommand(ctxT(t), srv.Users[0], srv.TownSquare.Id, "/incident help")
		return err == nil && strings.Contains(r.Text, "/incident start"), nil
	})
}

// TestLogsReachTheServerLog: zerolog events arrive in the server's own log
// with their level and fields.
func TestLogsReachTheServerLog(t *testing.T) {
	s := start(t, srv.Users[0], "Logged start")
	harness.Eventually(t, wait, "structured 'incident started' line in the server log", func() (bool, error) {
		b, err := os.ReadFile(srv.LogPath)
		if err != nil {
			return false, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if containsAll(line, `"msg":"incident started"`, `"level":"info"`, `"plugin_id":"`+pluginID+`"`, `"incident":"`+s.ID+`"`, `"severity":"S3"`) {
				return true, nil
			}
		}
		return false, nil
	})
}

func TestBotHasItsIcon(t *testing.T) {
	if botUser.LastPictureUpdate == 0 {
		t.Errorf("bot profile image was never set")
	}
	img, _, err := srv.Users[0].Client.GetProfileImage(ctxT(t), botUser.Id, "")
	if err != nil || len(img) < 8 || string(img[1:4]) != "PNG" {
		t.Errorf("bot image: %v, %d bytes", err, len(img))
	}
}

func TestAutocompleteComesFromTheTable(t *testing.T) {
	alice := srv.Users[0]
	s := start(t, alice, "Autocomplete target")
	suggest := func(input string) []string {
		list, _, err := alice.Client.ListCommandAutocompleteSuggestions(ctxT(t), input, srv.Team.Id)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.Suggestion)
		}
		return out
	}
	verbs := strings.Join(suggest("/incident "), " ")
	mustContain(t, "verbs", verbs, "start", "update", "note", "severity", "mitigate", "resolve", "reopen", "list", "timeline", "help")
	mustContain(t, "severities", strings.Join(suggest("/incident severity "), " "), "S1", "S4")
	mustContain(t, "rota verbs", strings.Join(suggest("/incident rota "), " "), "show", "set", "override", "swap", "away", "handoff", "channel")
	mustContain(t, "roles", strings.Join(suggest("/incident rota set "), " "), "im", "l1", "rm")
	mustContain(t, "role verbs", verbs, "role", "handover", "rota")
	mustContain(t, "start flags", strings.Join(suggest("/incident start --"), " "), "--severity", "--summary")
	// The incident list is fetched from the plugin as the user types.
	mustContain(t, "incident ids", strings.Join(suggest("/incident timeline "), " "), s.ID)
}
