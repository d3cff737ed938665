package main

import (
	"io"
	"log"
	"time"

	"github.com/mattermost/mattermost/server/public/plugin"
)

// Leaving the process.
//
// To stop a plugin (disable, a re-uploaded bundle, server shutdown) the
// server calls OnDeactivate, then asks the process to quit over
// go-plugin's control connection (Control.Quit) and waits up to 2 seconds
// for it to exit. On the plugin side go-plugin's Quit handler ends Serve,
// and so plugin.ClientMain, before net/rpc has written its reply: when
// main returned at once, the process sometimes exited (status 0) before
// the reply left it. The server's Quit call then failed with "unexpected
// EOF", and it logged "error closing client during Kill" and "plugin
// failed to exit gracefully" and killed the already finished process (5
// of 26 re-uploads and disables in TestRedeployExitsGracefully).
//
// The server closes the connection as soon as it has the reply, so main
// waits for that: until a call to the server fails, at most hangUpTimeout,
// well within the server's 2 seconds. A disable takes a few milliseconds
// longer; nothing waits on the plugin's own work here (OnDeactivate did).
const (
	hangUpTimeout = time.Second
	hangUpPoll    = 2 * time.Millisecond
)

// SetAPI is plugin.MattermostPlugin's, also keeping the API for
// awaitHangUp: go-plugin sets it from another goroutine at activation.
func (p *Plugin) SetAPI(api plugin.API) {
	p.MattermostPlugin.SetAPI(api)
	if api != nil {
		p.serverAPI.Store(&api)
	}
}

// awaitHangUp returns once the server has closed the plugin's connection,
// or after hangUpTimeout; at once if the plugin never had an API.
func (p *Plugin) awaitHangUp() {
	api := p.serverAPI.Load()
	if api == nil {
		return
	}
	// A call on the closed connection logs its failure through the
	// standard logger, into the server log: expected here, so not said.
	log.SetOutput(io.Discard)
	awaitHangUp(*api, hangUpTimeout, hangUpPoll)
}

// serverProbe is the call awaitHangUp makes: the server answers it from
// memory, and the plugin API returns "" once the connection is closed.
type serverProbe interface{ GetServerVersion() string }

// awaitHangUp calls the server every poll until a call fails, and reports
// whether that happened within timeout. A call that hangs does not hold
// the caller past timeout.
func awaitHangUp(api serverProbe, timeout, poll time.Duration) bool {
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for api.GetServerVersion() != "" {
			time.Sleep(poll)
		}
	}()
	select {
	case <-gone:
		return true
	case <-time.After(timeout):
		return false
	}
}
