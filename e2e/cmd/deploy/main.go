// Command deploy uploads a plugin bundle to a running Mattermost server,
// enables it and waits until the server reports it running. The server is
// MM_SERVICESETTINGS_SITEURL; MM_ADMIN_TOKEN is a system admin's personal
// access token. The server needs PluginSettings.EnableUploads.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

func main() {
	bundle := flag.String("bundle", "", "plugin bundle (.tar.gz)")
	id := flag.String("plugin-id", "", "plugin id")
	timeout := flag.Duration("timeout", 2*time.Minute, "how long to wait for the plugin to run")
	flag.Parse()
	if err := deploy(*bundle, *id, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		os.Exit(1)
	}
}

func deploy(bundle, id string, timeout time.Duration) error {
	site, token := os.Getenv("MM_SERVICESETTINGS_SITEURL"), os.Getenv("MM_ADMIN_TOKEN")
	if site == "" || token == "" {
		return fmt.Errorf("set MM_SERVICESETTINGS_SITEURL (e.g. https://chat.example.com) and MM_ADMIN_TOKEN (a system admin's access token)")
	}
	if bundle == "" || id == "" {
		return fmt.Errorf("-bundle and -plugin-id are required")
	}
	f, err := os.Open(bundle)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := model.NewAPIv4Client(site)
	c.SetToken(token)
	if _, _, err := c.UploadPluginForced(ctx, f); err != nil {
		return fmt.Errorf("upload %s (is PluginSettings.EnableUploads on?): %w", bundle, err)
	}
	if _, err := c.EnablePlugin(ctx, id); err != nil {
		return fmt.Errorf("enable %s: %w", id, err)
	}
	// Enable answers before activation finishes, and even when it fails.
	for {
		statuses, _, err := c.GetPluginStatuses(ctx)
		if err != nil {
			return fmt.Errorf("plugin statuses: %w", err)
		}
		for _, s := range statuses {
			if s.PluginId != id {
				continue
			}
			switch s.State {
			case model.PluginStateRunning:
				fmt.Printf("%s %s is running on %s\n", id, s.Version, site)
				return nil
			case model.PluginStateFailedToStart, model.PluginStateFailedToStayRunning:
				return fmt.Errorf("%s failed to start: see the server log (System Console > Server Logs)", id)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not running after %s", id, timeout)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
