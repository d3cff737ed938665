// Package plugin_test proves the incident bot on a real Mattermost server:
// it builds the plugin bundle, installs it into a fresh 6.7.2 server and
// drives it through the REST API as users do.
package plugin_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

const pluginID = "io.incidentbot.mattermost"

var (
	srv       *harness.Server
	bundle    string
	botUser   *model.User
	broadcast *model.Channel
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() && os.Getenv("CI") != "true" {
		fmt.Println("end-to-end tests skipped in -short mode")
		os.Exit(0)
	}
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var err error
	if bundle, err = harness.BuildBundle(ctx); err != nil {
		return 1, err
	}
	if srv, err = harness.Start(ctx, harness.Options{Users: 8}); err != nil {
		return 1, err
	}
	defer srv.Stop()
	if err := srv.InstallPlugin(ctx, bundle, pluginID); err != nil {
		return 1, err
	}
	if botUser, _, err = srv.Admin.Client.GetUserByUsername(ctx, "incident", ""); err != nil {
		return 1, fmt.Errorf("find bot user: %w", err)
	}
	if broadcast, err = srv.NewChannel(ctx, "incidents", false, srv.Users...); err != nil {
		return 1, err
	}
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id}); err != nil {
		return 1, err
	}
	return m.Run(), nil
}
