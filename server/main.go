package main

import "github.com/mattermost/mattermost/server/public/plugin"

func main() {
	p := &Plugin{}
	plugin.ClientMain(p)
	// ClientMain returns when the server asks the process to quit, before
	// the reply has left it: see exit.go.
	p.awaitHangUp()
}
