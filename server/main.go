package main

import (
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
)

func main() {
	// The plugin reads archives sent to it in a child of its own binary
	// (see archivefile.OpenUntrusted): that child never reaches the
	// plugin's main.
	archivefile.ChildMain()
	p := &Plugin{}
	plugin.ClientMain(p)
	// ClientMain returns when the server asks the process to quit, before
	// the reply has left it: see exit.go.
	p.awaitHangUp()
}
