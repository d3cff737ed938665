package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/report"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// withArchive opens the archive at path, runs fn and closes it.
func withArchive(path string, fn func(ctx context.Context, s *session) error) error {
	s, err := open(path)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(context.Background(), s)
}

func cmdInfo(out io.Writer, args []string) error {
	pos, err := parse(flag.NewFlagSet("info", flag.ContinueOnError), args, "FILE")
	if err != nil {
		return err
	}
	return withArchive(pos[0], func(ctx context.Context, s *session) error {
		m := s.arc.Meta
		var b strings.Builder
		fmt.Fprintf(&b, "#### Incident archive %s\n", mdText(pos[0]))
		row := func(k, v string) {
			if v != "" {
				fmt.Fprintf(&b, "| %s | %s |\n", k, v)
			}
		}
		b.WriteString("| | |\n|---|---|\n")
		row("Exported", m.ExportedAt.UTC().Format(report.TimeLayout))
		if m.ExportedBy != "" {
			row("Exported by", "@"+report.TableCell(m.ExportedBy))
		}
		row("From", report.TableCell(m.SiteURL))
		row("Plugin version", report.TableCell(m.PluginVersion))
		since := "every incident"
		if !m.Since.IsZero() {
			since = "incidents created since " + m.Since.UTC().Format(report.TimeLayout)
		}
		row("Holds", since)
		row("Incidents", strconv.Itoa(m.Incidents))
		row("Events", strconv.Itoa(m.Events))
		row("Documents", strconv.Itoa(m.Docs))
		row("Users named", strconv.Itoa(len(s.arc.Directory.Users)))
		row("Channels named", strconv.Itoa(len(s.arc.Directory.Channels)))
		row("Teams named", strconv.Itoa(len(s.arc.Directory.Teams)))
		row("Time zone", s.settings.Location.String())
		row("Format version", strconv.Itoa(s.arc.Version))
		_, err := io.WriteString(out, b.String())
		return err
	})
}

// mdText shows a path or other plain text literally in Markdown.
func mdText(s string) string { return report.TableCell(s) }

func cmdList(out io.Writer, args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	status := fs.String("status", "", "only incidents in this status: open, mitigated or resolved")
	pos, err := parse(fs, args, "FILE")
	if err != nil {
		return err
	}
	if *status != "" && !incident.Status(*status).Valid() {
		return usagef("--status %q: use open, mitigated or resolved", *status)
	}
	return withArchive(pos[0], func(ctx context.Context, s *session) error {
		list, err := s.arc.Store().ListSince(ctx, time.Time{})
		if err != nil {
			return err
		}
		if *status != "" {
			list = slices.DeleteFunc(list, func(inc *incident.Incident) bool { return inc.Status != incident.Status(*status) })
		}
		title := "Incidents"
		if *status != "" {
			title = incident.Status(*status).Label() + " incidents"
		}
		_, err = fmt.Fprintf(out, "#### %s (%d)\n%s", title, len(list), report.IncidentTable(list, report.IDCell))
		return err
	})
}

// incidentArg reads the incident an ID argument names ("abc" or "#abc").
func incidentArg(ctx context.Context, s *session, id string) (*incident.Incident, error) {
	return s.arc.Store().GetIncident(ctx, strings.TrimPrefix(id, "#"))
}

func cmdTimeline(out io.Writer, args []string) error {
	pos, err := parse(flag.NewFlagSet("timeline", flag.ContinueOnError), args, "FILE", "ID")
	if err != nil {
		return err
	}
	return withArchive(pos[0], func(ctx context.Context, s *session) error {
		inc, err := incidentArg(ctx, s, pos[1])
		if err != nil {
			return err
		}
		events, err := s.app.Timeline(ctx, inc)
		if err != nil {
			return err
		}
		_, err = io.WriteString(out, report.Timeline(inc, events, s.names.Name, s.names.Render)+"\n")
		return err
	})
}

func cmdPostmortem(out io.Writer, args []string) error {
	pos, err := parse(flag.NewFlagSet("postmortem", flag.ContinueOnError), args, "FILE", "ID")
	if err != nil {
		return err
	}
	return withArchive(pos[0], func(ctx context.Context, s *session) error {
		md, err := postmortemOf(ctx, s, pos[1])
		if err != nil {
			return err
		}
		_, err = io.WriteString(out, md)
		return err
	})
}

// postmortemOf renders the postmortem of the incident id names.
func postmortemOf(ctx context.Context, s *session, id string) (string, error) {
	inc, err := incidentArg(ctx, s, id)
	if err != nil {
		return "", err
	}
	return s.app.Postmortem(ctx, inc)
}

func cmdStats(out io.Writer, args []string) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	sinceFlag := fs.String("since", "", "30d (days before now) or a date such as 2026-01-01; default: every incident")
	pos, err := parse(fs, args, "FILE")
	if err != nil {
		return err
	}
	var since time.Time
	if *sinceFlag != "" {
		if since, err = parseSince(*sinceFlag, now()); err != nil {
			return err
		}
	}
	return withArchive(pos[0], func(ctx context.Context, s *session) error {
		from := since
		if *sinceFlag == "" {
			if from, err = oldest(ctx, s); err != nil {
				return err
			}
		}
		st, err := s.app.StatsWith(ctx, "incident-archive", from, app.StatsOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		_, err = io.WriteString(out, s.names.Render(report.Stats(st)))
		return err
	})
}

// parseSince reads --since as /incident stats does: Nd days before now, or
// a date.
func parseSince(v string, now time.Time) (time.Time, error) {
	if days, found := strings.CutSuffix(v, "d"); found {
		if n, err := strconv.Atoi(days); err == nil && n > 0 && n <= 3650 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	t, err := rota.ParseWhen(v, time.UTC)
	if err != nil {
		return time.Time{}, usagef("--since %q: use 30d, 90d or a date such as 2026-09-01", v)
	}
	return t, nil
}

// oldest is where stats start by default: the day the archive's oldest
// incident was created (its export's --since when it holds none).
func oldest(ctx context.Context, s *session) (time.Time, error) {
	list, err := s.arc.Store().ListSince(ctx, time.Time{})
	if err != nil {
		return time.Time{}, err
	}
	if len(list) == 0 {
		return s.arc.Meta.Since, nil
	}
	t := list[len(list)-1].CreatedAt.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
}
