// Command mmdev runs a throwaway Mattermost server with the plugin installed,
// for trying the plugin by hand (`make dev`). It prints where to log in and
// stops everything, database included, on SIGINT or SIGTERM.
//
//	go run ./e2e/cmd/mmdev -bundle dist/io.incidentbot.mattermost-1.0.0.tar.gz
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mmdev:", err)
		os.Exit(1)
	}
}

func run() error {
	bundle := flag.String("bundle", "", "plugin bundle (.tar.gz) to install; none if empty")
	pluginID := flag.String("plugin-id", "io.incidentbot.mattermost", "id of the plugin in -bundle")
	users := flag.Int("users", harness.DefaultUsers, "number of regular users to create")
	smoke := flag.Bool("smoke", false, "start, print the details, then stop at once (for automated checks)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if *bundle != "" {
		if _, err := os.Stat(*bundle); err != nil {
			return fmt.Errorf("-bundle: %w", err)
		}
	}
	usersOpt := *users
	if usersOpt == 0 {
		usersOpt = -1 // harness.Options treats 0 as the default
	}

	// Signals are caught from the start so that ^C during the build or the
	// start-up still tears down whatever was started.
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	srv, err := harness.Start(ctx, harness.Options{Users: usersOpt})
	if err != nil {
		return err
	}
	err = serve(ctx, srv, *bundle, *pluginID, *smoke)
	fmt.Fprintln(os.Stderr, "mmdev: stopping Mattermost and PostgreSQL")
	return errors.Join(err, srv.Stop())
}

func serve(ctx context.Context, srv *harness.Server, bundle, pluginID string, smoke bool) error {
	if bundle != "" {
		start := time.Now()
		if err := srv.InstallPlugin(ctx, bundle, pluginID); err != nil {
			return err
		}
		fmt.Printf("plugin:   %s installed and running (%s)\n", pluginID, time.Since(start).Round(time.Millisecond))
	}
	fmt.Printf("url:      %s\n", srv.URL)
	fmt.Printf("team:     %s (%s/%s)\n", srv.Team.Name, srv.URL, srv.Team.Name)
	fmt.Printf("admin:    %s / %s\n", srv.Admin.Username, srv.Admin.Password)
	for _, u := range srv.Users {
		fmt.Printf("user:     %s / %s\n", u.Username, u.Password)
	}
	if bundle != "" {
		// The plugin's pages: sign in with any login above, in a browser.
		pages := srv.URL + "/plugins/" + pluginID
		fmt.Printf("pages:    %s/incidents  (also /stats and /rota)\n", pages)
		fmt.Printf("sign in:  %s/signin  (any login above)\n", pages)
	}
	fmt.Printf("log:      %s\n", srv.LogPath)
	fmt.Printf("database: %s\n", srv.DataSource)
	if len(srv.Users) > 0 {
		// There is no Mattermost web app in this build: the plugin's pages
		// above are browsable; commands go through the REST API.
		u := srv.Users[0]
		fmt.Printf("\nstart an incident as %s (no Mattermost web app here; any REST client works), then open the pages:\n", u.Username)
		fmt.Printf("  curl -s -H 'Authorization: Bearer %s' -d '{\"channel_id\":\"%s\",\"team_id\":\"%s\",\"command\":\"/incident start Checkout is down --severity S2\"}' %s/api/v4/commands/execute\n\n",
			u.Client.AuthToken, srv.TownSquare.Id, srv.Team.Id, srv.URL)
	}
	if smoke {
		return nil
	}
	fmt.Println("press Ctrl-C to stop")
	<-ctx.Done()
	return nil
}
