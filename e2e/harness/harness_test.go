package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

const pluginID = "io.incidentbot.mattermost"

// TestSmoke proves the harness against a real server: users and team exist,
// a built-in slash command posts, and (given INCIDENT_BOT_BUNDLE) the plugin
// bundle installs and runs. Nothing is skipped for missing tools: on a
// machine without Go, PostgreSQL or network access to the module proxy it
// fails, so CI cannot pass by accident.
func TestSmoke(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("starts a real Mattermost server; not in -short mode")
	}
	began := time.Now()
	srv := MustStart(t, Options{})
	t.Logf("server up in %s at %s", time.Since(began).Round(time.Millisecond), srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("admin is system admin", func(t *testing.T) {
		me, _, err := srv.Admin.Client.GetMe(ctx, "")
		if err != nil {
			t.Fatalf("get admin: %v", err)
		}
		if !slices.Contains(strings.Fields(me.Roles), model.SystemAdminRoleId) {
			t.Fatalf("admin roles = %q, want %s", me.Roles, model.SystemAdminRoleId)
		}
	})

	t.Run("users are team members", func(t *testing.T) {
		if len(srv.Users) != DefaultUsers {
			t.Fatalf("got %d users, want %d", len(srv.Users), DefaultUsers)
		}
		for _, u := range append([]*User{srv.Admin}, srv.Users...) {
			if _, _, err := srv.Admin.Client.GetTeamMember(ctx, srv.Team.Id, u.Id, ""); err != nil {
				t.Errorf("%s is not on team %s: %v", u.Username, srv.Team.Name, err)
			}
			// The user's own client must be logged in as that user.
			me, _, err := u.Client.GetMe(ctx, "")
			if err != nil || me.Id != u.Id {
				t.Errorf("client of %s: got %v, %v", u.Username, me, err)
			}
		}
	})

	t.Run("database through the proxy, short timers allowed", func(t *testing.T) {
		if n := srv.DB.Connections(); n == 0 {
			t.Errorf("Mattermost has no connection through the database proxy")
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", srv.mm.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Split(string(env), "\x00"), "INCIDENT_BOT_MIN_TIMER=1s") && os.Getenv("INCIDENT_BOT_MIN_TIMER") == "" {
			t.Errorf("the server's environment lacks INCIDENT_BOT_MIN_TIMER=1s")
		}
	})

	t.Run("echo command posts", func(t *testing.T) {
		author, reader := srv.Users[0], srv.Users[1]
		if _, err := srv.ExecuteCommand(ctx, author, srv.TownSquare.Id, "/echo hello"); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 10*time.Second, "the echo post in town-square", func() (bool, error) {
			posts, err := srv.Posts(ctx, reader, srv.TownSquare.Id)
			if err != nil {
				return false, err
			}
			for _, p := range posts {
				if p.UserId == author.Id && p.Message == "hello" {
					return true, nil
				}
			}
			return false, nil
		})
	})

	t.Run("channels", func(t *testing.T) {
		a, b, outsider := srv.Users[0], srv.Users[1], srv.Users[2]
		ch, err := srv.NewChannel(ctx, "War Room 1", true, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Name != "war-room-1" || ch.Type != model.ChannelTypePrivate {
			t.Fatalf("channel = %s (%s), want private war-room-1", ch.Name, ch.Type)
		}
		if _, _, err := b.Client.GetChannel(ctx, ch.Id); err != nil {
			t.Errorf("member cannot see the private channel: %v", err)
		}
		if _, _, err := outsider.Client.GetChannel(ctx, ch.Id); err == nil {
			t.Errorf("non-member can see the private channel")
		}
		dm, err := srv.DirectChannel(ctx, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if dm.Type != model.ChannelTypeDirect {
			t.Fatalf("direct channel type = %s", dm.Type)
		}
	})

	t.Run("plugin config patch", func(t *testing.T) {
		const id = "io.incidentbot.e2e-smoke"
		if err := srv.PatchPluginConfig(ctx, id, map[string]any{"SomeSetting": "a"}); err != nil {
			t.Fatal(err)
		}
		if err := srv.PatchPluginConfig(ctx, id, map[string]any{"Other": true}); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := srv.Admin.Client.GetConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := cfg.PluginSettings.Plugins[id]
		if got["somesetting"] != "a" || got["other"] != true {
			t.Fatalf("plugin settings = %v, want somesetting=a and other=true", got)
		}
	})

	if bundle := os.Getenv("INCIDENT_BOT_BUNDLE"); bundle != "" {
		t.Run("plugin bundle runs", func(t *testing.T) {
			if _, err := os.Stat(bundle); err != nil {
				t.Fatalf("INCIDENT_BOT_BUNDLE: %v", err)
			}
			start := time.Now()
			if err := srv.InstallPlugin(ctx, bundle, pluginID); err != nil {
				t.Fatal(err)
			}
			t.Logf("installed %s in %s", bundle, time.Since(start).Round(time.Millisecond))
			if err := srv.DisablePlugin(ctx, pluginID); err != nil {
				t.Fatal(err)
			}
			if err := srv.EnablePlugin(ctx, pluginID); err != nil {
				t.Fatal(err)
			}
			if state, err := srv.PluginState(ctx, pluginID); err != nil || state != model.PluginStateRunning {
				t.Fatalf("plugin state = %d, %v; want running", state, err)
			}
		})
	} else {
		t.Log("INCIDENT_BOT_BUNDLE not set: plugin install not exercised")
	}

	t.Run("stop", func(t *testing.T) {
		start := time.Now()
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
		if err := srv.Stop(); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
		if resp, err := http.Get(srv.URL + "/api/v4/system/ping"); err == nil {
			resp.Body.Close()
			t.Errorf("server still answers after Stop")
		}
		if _, err := os.Stat(srv.Dir); !os.IsNotExist(err) && os.Getenv("INCIDENT_BOT_E2E_KEEP") != "1" {
			t.Errorf("temp dir %s still there after Stop (%v)", srv.Dir, err)
		}
	})
}

func TestProcStat(t *testing.T) {
	state, pgrp, ok := procStat(os.Getpid())
	if !ok || state == 'Z' || pgrp <= 0 {
		t.Fatalf("procStat(self) = %c, %d, %v", state, pgrp, ok)
	}
	if _, _, ok := procStat(-1); ok {
		t.Fatal("procStat(-1) reported a process")
	}
}
