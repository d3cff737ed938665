// Command mmserver is the Mattermost Team Edition server (the entry point of
// upstream cmd/mattermost), built from the released module so that e2e tests
// run the plugin against a real server. Its one change from stock is a
// shorter job-watcher interval, below.
package main

import (
	"os"

	"github.com/mattermost/mattermost-server/v6/cmd/mattermost/commands"
	"github.com/mattermost/mattermost-server/v6/jobs"

	// Built-in slash commands such as /echo register themselves on import.
	_ "github.com/mattermost/mattermost-server/v6/app/slashcommands"
	// Where enterprise builds hook in; an empty package in Team Edition,
	// imported as upstream's main does.
	_ "github.com/mattermost/mattermost-server/v6/imports"
)

func main() {
	// The job watcher first sleeps a random part of this interval (15 s
	// upstream) and cannot be interrupted meanwhile, so stopping a server
	// only seconds old took up to 15 s. Tests start and stop many servers; a
	// short interval only means a cheap pending-jobs query a few times a
	// second.
	jobs.DefaultWatcherPollingInterval = 250

	if err := commands.Run(os.Args[1:]); err != nil {
		os.Exit(1)
	}
}
