// Command incident-archive reads an incident archive (the file
// /incident archive export makes) without any Mattermost server, and
// prints its reports as Markdown, rendered by the same code as the
// plugin's: the same incident gives the same text.
//
//	incident-archive info FILE
//	incident-archive list FILE [--status open|mitigated|resolved]
//	incident-archive timeline FILE ID
//	incident-archive postmortem FILE ID
//	incident-archive stats FILE [--since 30d|2026-01-01]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
)

const usage = `usage: incident-archive COMMAND FILE [ARGS]

Reads an incident archive (made by /incident archive export) offline and
prints Markdown to stdout.

commands:
  info FILE                      what the archive holds: when, by whom, counts, time zone
  list FILE [--status S]         every incident, newest first (S: open, mitigated, resolved)
  timeline FILE ID               an incident's whole timeline, as /incident timeline shows it
  postmortem FILE ID             an incident's postmortem, as the plugin renders it
  stats FILE [--since WHEN]      /incident stats over the archive; WHEN is 30d (days before
                                 now) or a date such as 2026-01-01; default: every incident
`

func main() {
	archivefile.ChildMain() // this binary checks archives in a child of itself
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a command line that is wrong.
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

func usagef(format string, args ...any) error { return errUsage{fmt.Sprintf(format, args...)} }

// commands are the subcommands: each gets the archive's path, the
// remaining arguments and its flags, and writes to out.
var commands = map[string]func(out io.Writer, args []string) error{
	"info":       cmdInfo,
	"list":       cmdList,
	"timeline":   cmdTimeline,
	"postmortem": cmdPostmortem,
	"stats":      cmdStats,
}

// run runs the command line args and returns the exit status: 0, 1 when
// the archive cannot be read, 2 for a wrong command line.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "incident-archive: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := cmd(stdout, args[1:])
	var ue errUsage
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "incident-archive %s: %s\n\n%s", args[0], ue.msg, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "incident-archive %s: %v\n", args[0], err)
		return 1
	}
}

// parse parses args with fs, flags before, between or after the
// positional arguments, and checks that there are exactly want of those.
func parse(fs *flag.FlagSet, args []string, want ...string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != len(want) {
		return nil, usagef("%s takes %s; got %d argument(s)", fs.Name(), strings.Join(want, " "), len(pos))
	}
	return pos, nil
}
