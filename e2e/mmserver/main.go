// Command mmserver is the Mattermost Team Edition server (the entry point of
// upstream cmd/mattermost), built from the released module so that e2e tests
// run the plugin against a real server. It differs from stock in two ways
// that only matter to a test harness: a shorter job-watcher interval and a
// stop watchdog, both below.
package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mattermost/mattermost-server/v6/cmd/mattermost/commands"
	"github.com/mattermost/mattermost-server/v6/jobs"

	// Built-in slash commands such as /echo register themselves on import.
	_ "github.com/mattermost/mattermost-server/v6/app/slashcommands"
	// Where enterprise builds hook in; an empty package in Team Edition,
	// imported as upstream's main does.
	_ "github.com/mattermost/mattermost-server/v6/imports"
)

// stopDeadline bounds a graceful stop; the harness itself gives up after 20 s.
const stopDeadline = 25 * time.Second

func main() {
	// The job watcher first sleeps a random part of this interval (15 s
	// upstream) and cannot be interrupted meanwhile, so stopping a server
	// only seconds old took up to 15 s. Tests start and stop many servers; a
	// short interval only means a cheap pending-jobs query a few times a
	// second.
	jobs.DefaultWatcherPollingInterval = 250

	watchStop()

	if err := commands.Run(os.Args[1:]); err != nil {
		os.Exit(1)
	}
}

// watchStop makes sure a stop request ends the server's plugin processes
// too. The harness runs the server as the leader of its own process group
// with SIGTERM as its parent-death signal: if the test process dies, the
// server gets SIGTERM, shuts down gracefully (stopping its plugins), and
// should that hang, this kills the whole group. A SIGKILL to the server
// alone would orphan its plugin processes, which outlive it otherwise.
func watchStop() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		time.AfterFunc(stopDeadline, func() {
			if syscall.Getpgrp() == os.Getpid() {
				_ = syscall.Kill(0, syscall.SIGKILL)
			}
			os.Exit(2)
		})
	}()
}
