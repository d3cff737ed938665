package command

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/web"
)

// since reads "--since 30d|90d|<date>"; the default is 30 days.
func since(rest string, now time.Time) (time.Time, error) {
	pos, vals, unknown := flags(rest, "since")
	if unknown != "" || pos != "" {
		return time.Time{}, incident.Invalidf("stats takes only `--since 30d`, `--since 90d` or `--since <date>`")
	}
	v, ok := vals["since"]
	if !ok {
		return now.AddDate(0, 0, -30), nil
	}
	if days, found := strings.CutSuffix(v, "d"); found {
		if n, err := strconv.Atoi(days); err == nil && n > 0 && n <= 3650 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	t, err := rota.ParseWhen(v, time.UTC)
	if err != nil {
		return time.Time{}, incident.Invalidf("--since %q: use 30d, 90d or a date such as 2026-09-01", v)
	}
	return t, nil
}

func runStats(ctx context.Context, h *Handler, c Call) (Reply, error) {
	from, err := since(c.Rest, time.Now())
	if err != nil {
		return Reply{}, err
	}
	st, err := h.App.Stats(ctx, c.UserID, from)
	if err != nil {
		return Reply{}, err
	}
	text := h.Render(statsText(st))
	if u := h.pageURL(c, web.StatsPath+"?since="+from.UTC().Format("2006-01-02")); u != "" {
		text += "\n[Charts per month, load and action items](" + u + ")"
	}
	return Reply{Text: text}, nil
}

func statsText(st *app.Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### Incidents since %s: %d\n", st.Since.UTC().Format("2006-01-02"), st.Incidents)
	if st.Hidden > 0 {
		fmt.Fprintf(&b, "_%d more you cannot see are not counted._\n", st.Hidden)
	}
	if st.Incidents == 0 {
		return b.String()
	}
	b.WriteString("| Severity | Incidents | To acknowledge (mean / p90) | To mitigate (mean / p90) | To resolve (mean / p90) |\n|---|---|---|---|---|\n")
	for _, sev := range incident.Severities {
		ss := st.BySeverity[sev]
		if ss == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", sev, ss.Incidents, durStats(ss.ToAck), durStats(ss.ToMitigate), durStats(ss.ToResolve))
	}
	perPerson := func(title string, m map[string]int) {
		if len(m) == 0 {
			return
		}
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return m[ids[i]] > m[ids[j]] || (m[ids[i]] == m[ids[j]] && ids[i] < ids[j]) })
		fmt.Fprintf(&b, "\n**%s:** ", title)
		for i, id := range ids {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "<@%s> %d", id, m[id])
		}
		b.WriteString("\n")
	}
	perPerson("Pages per person", st.PagesPerPerson)
	perPerson("Role stints per person", st.StintsPerPerson)
	if len(st.OverdueActions) > 0 {
		fmt.Fprintf(&b, "\n**Open action items past due (%d):**\n", len(st.OverdueActions))
		for _, o := range st.OverdueActions {
			owner := "nobody"
			if o.Item.Owner != "" {
				owner = "<@" + o.Item.Owner + ">"
			}
			fmt.Fprintf(&b, "- #%s item %d: %s (%s, due %s)\n", o.Incident, o.Item.N, tableCell(o.Item.Text), owner, o.Item.Due.Format("2006-01-02"))
		}
	}
	return b.String()
}

func durStats(d app.DurationStats) string {
	if d.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s (n=%d)", incident.FormatDuration(d.Mean), incident.FormatDuration(d.P90), d.N)
}

func statsArgs(a *model.AutocompleteData) {
	a.AddNamedStaticListArgument("since", "How far back", false, []model.AutocompleteListItem{
		{Item: "30d", HelpText: "the last 30 days"}, {Item: "90d", HelpText: "the last 90 days"}})
}
