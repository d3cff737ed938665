// Command mmserver is the stock Mattermost server binary (the same entry point
// as upstream cmd/mattermost), built from the released module so that e2e
// tests run the plugin against a real server.
package main

import (
	"os"

	"github.com/mattermost/mattermost-server/v6/cmd/mattermost/commands"

	// Built-in slash commands such as /echo register themselves on import.
	_ "github.com/mattermost/mattermost-server/v6/app/slashcommands"
	// Registers the (Team Edition) enterprise interface placeholders, as upstream does.
	_ "github.com/mattermost/mattermost-server/v6/imports"
)

func main() {
	if err := commands.Run(os.Args[1:]); err != nil {
		os.Exit(1)
	}
}
