package command

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/report"
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
	text := h.Render(report.Stats(st))
	if u := h.pageURL(c, web.StatsPath+"?since="+from.UTC().Format("2006-01-02")); u != "" {
		text += "\n[Charts per month, load and action items](" + u + ")"
	}
	return Reply{Text: text}, nil
}

func statsArgs(a *model.AutocompleteData) {
	a.AddNamedStaticListArgument("since", "How far back", false, []model.AutocompleteListItem{
		{Item: "30d", HelpText: "the last 30 days"}, {Item: "90d", HelpText: "the last 90 days"}})
}
