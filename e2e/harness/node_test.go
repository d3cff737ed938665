package harness

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// TestNodeSharesDatabaseAndPluginKill proves StartNode, Session and the
// plugin process helpers against the fixture plugin: the node serves the
// first server's users and posts, runs its own plugin process, and a
// SIGKILLed plugin on one node leaves the other node's alone until
// RestartPlugin brings it back.
func TestNodeSharesDatabaseAndPluginKill(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("starts two real Mattermost servers; not in -short mode")
	}
	srv := MustStart(t, Options{Users: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := srv.InstallPlugin(ctx, fixtureBundle(t, buildFixture(t), fixtureID, ""), fixtureID); err != nil {
		t.Fatal(err)
	}

	node := MustStartNode(t, srv, NodeOptions{})
	if node.URL == srv.URL || node.DataSource != srv.DataSource {
		t.Fatalf("node at %s on %s; server at %s on %s", node.URL, node.DataSource, srv.URL, srv.DataSource)
	}
	// The node installed the plugin from the shared file store.
	if err := node.EnablePlugin(ctx, fixtureID); err != nil {
		t.Fatal(err)
	}
	first, second := srv.PluginProcesses(fixtureID), node.PluginProcesses(fixtureID)
	if len(first) != 1 || len(second) != 1 || first[0] == second[0] {
		t.Fatalf("plugin processes: server %v, node %v; want one each", first, second)
	}

	// A user's session works on both; what one node posts the other serves.
	alice := node.Users[0]
	if _, err := node.ExecuteCommand(ctx, alice, node.TownSquare.Id, "/fixture"); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "the node's post, read through the first server", func() (bool, error) {
		return findPost(ctx, srv, srv.Users[1], srv.TownSquare.Id, func(p *model.Post) bool {
			return p.UserId == alice.Id && p.Message == "fixture buttons"
		}) != nil, nil
	})

	killed, err := node.KillPlugin(fixtureID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(killed, second) {
		t.Fatalf("killed %v, want the node's %v", killed, second)
	}
	if pids := node.PluginProcesses(fixtureID); len(pids) != 0 {
		t.Fatalf("plugin processes %v still listed after the kill", pids)
	}
	if _, err := node.ExecuteCommand(ctx, alice, node.TownSquare.Id, "/fixture"); err == nil {
		t.Error("/fixture answered on the node whose plugin was killed")
	}
	if got := srv.PluginProcesses(fixtureID); !slices.Equal(got, first) {
		t.Errorf("the first server's plugin processes changed from %v to %v", first, got)
	}
	if _, err := srv.ExecuteCommand(ctx, srv.Users[0], srv.TownSquare.Id, "/fixture"); err != nil {
		t.Errorf("the first server's plugin stopped answering: %v", err)
	}

	start := time.Now()
	if err := node.RestartPlugin(ctx, fixtureID); err != nil {
		t.Fatal(err)
	}
	t.Logf("plugin running again %s after RestartPlugin", time.Since(start).Round(time.Millisecond))
	again := node.PluginProcesses(fixtureID)
	if len(again) != 1 || again[0] == second[0] {
		t.Fatalf("plugin processes after restart: %v (killed %v)", again, second)
	}
	if _, err := node.ExecuteCommand(ctx, alice, node.TownSquare.Id, "/fixture"); err != nil {
		t.Fatalf("/fixture after restart: %v", err)
	}

	if err := node.PatchConfig(ctx, map[string]map[string]any{"PluginSettings": {"EnableHealthCheck": false}}); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := node.Admin.Client.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if *cfg.PluginSettings.EnableHealthCheck || !cfg.PluginSettings.PluginStates[fixtureID].Enable {
		t.Fatalf("after the patch: health check %v, fixture enabled %v; want false, true",
			*cfg.PluginSettings.EnableHealthCheck, cfg.PluginSettings.PluginStates[fixtureID].Enable)
	}
}
