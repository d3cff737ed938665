package command

import (
	"context"
	"fmt"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/report"
	"github.com/incidentbot/mattermost-incident-bot/server/web"
)

func runStart(ctx context.Context, h *Handler, c Call) (Reply, error) {
	if c.Rest == "" {
		var names []string
		if list, err := h.App.Runbooks(ctx); err == nil {
			for _, r := range list {
				names = append(names, r.Name)
			}
		} else {
			h.Log.Warn().Err(err).Msg("list runbooks for the start dialog")
		}
		var rotas []string
		if list, err := h.App.Rotas(ctx); err == nil {
			for _, r := range list {
				rotas = append(rotas, r.Name)
			}
		} else {
			h.Log.Warn().Err(err).Msg("list rotas for the start dialog")
		}
		if err := h.Dialogs.OpenStartDialog(c.TriggerID, h.DefaultSeverity(), names, rotas); err != nil {
			return Reply{}, err
		}
		return Reply{}, nil
	}
	title, vals, unknown := flags(c.Rest, "severity", "summary", "runbook", "rota")
	if unknown != "" {
		return Reply{}, incident.Invalidf("unknown option %s: use --severity, --summary, --runbook or --rota", mention.Inline(unknown))
	}
	if r, ok := vals["rota"]; ok && strings.TrimSpace(r) == "" {
		return Reply{}, incident.Invalidf("--rota needs a rota's name after it: `/incident rota list` shows them")
	}
	if r, ok := vals["runbook"]; ok && strings.TrimSpace(r) == "" {
		return Reply{}, incident.Invalidf("--runbook needs a runbook's name after it: `/incident runbook list` shows them")
	}
	sev := h.DefaultSeverity()
	if v, ok := vals["severity"]; ok {
		var err error
		if sev, err = incident.ParseSeverity(v); err != nil {
			return Reply{}, err
		}
	}
	if s, ok := vals["summary"]; ok && s == "" {
		return Reply{}, incident.Invalidf("--summary needs text after it")
	}
	inc, err := h.App.Start(ctx, app.StartRequest{TeamID: c.TeamID, ActorID: c.UserID, Title: title, Summary: vals["summary"], Severity: sev, Runbook: vals["runbook"], Rota: strings.TrimSpace(vals["rota"]), ChannelID: c.ChannelID})
	if err != nil {
		return Reply{}, err
	}
	r := Reply{Text: fmt.Sprintf("Incident %s started: %s. Its channel is ready; the card, the role holders and the announcement follow in a moment.", inc.ShortRef(), mention.Inline(inc.Title))}
	if h.ChannelURL != nil {
		r.Goto = h.ChannelURL(c.SiteURL, inc.ChannelID)
	}
	return r, nil
}

// locate finds the incident a call means: a leading #id, else the channel's.
func (h *Handler) locate(ctx context.Context, c Call) (*incident.Incident, string, error) {
	ref, rest := takeRef(c.Rest)
	inc, err := h.App.Locate(ctx, c.UserID, c.ChannelID, ref)
	return inc, rest, err
}

func runUpdate(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, text, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	if strings.TrimSpace(text) == "" {
		return Reply{}, h.Dialogs.OpenUpdateDialog(c.TriggerID, inc)
	}
	if _, err := h.App.PostUpdate(ctx, c.UserID, inc, text); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Status update posted on %s.", inc.ShortRef())}, nil
}

func runNote(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, text, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	lesson := false
	if rest, ok := strings.CutPrefix(text, "--lesson"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\n') {
		lesson, text = true, strings.TrimSpace(rest)
	}
	if _, err := h.App.AddNote(ctx, c.UserID, inc, text, lesson); err != nil {
		return Reply{}, err
	}
	if lesson {
		return Reply{Text: fmt.Sprintf("Lesson added to the timeline of %s; the postmortem lists it.", inc.ShortRef())}, nil
	}
	return Reply{Text: fmt.Sprintf("Note added to the timeline of %s.", inc.ShortRef())}, nil
}

func runSeverity(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, arg, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	if strings.TrimSpace(arg) == "" {
		return Reply{}, incident.Invalidf("name the new severity: S1, S2, S3 or S4")
	}
	sev, err := incident.ParseSeverity(arg)
	if err != nil {
		return Reply{}, err
	}
	if inc, err = h.App.ChangeSeverity(ctx, c.UserID, inc, sev); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s is now %s.", inc.ShortRef(), inc.Severity)}, nil
}

func runRotaFor(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, arg, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	if strings.TrimSpace(arg) == "" {
		return Reply{}, incident.Invalidf("name the rota: `/incident rota list` shows them")
	}
	if inc, err = h.App.ReassignRota(ctx, c.UserID, inc, strings.TrimSpace(arg)); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Rota `%s` staffs %s now; its open roles go to the people on duty there.", inc.Rota, inc.ShortRef())}, nil
}

func runMitigate(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, extra, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	if extra != "" {
		return Reply{}, incident.Invalidf("mitigate takes no text; add context with `/incident note`")
	}
	if _, err := h.App.Mitigate(ctx, c.UserID, inc); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s marked mitigated.", inc.ShortRef())}, nil
}

func runResolve(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, summary, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	if _, err := h.App.Resolve(ctx, c.UserID, inc, summary); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s resolved.", inc.ShortRef())}, nil
}

func runReopen(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, reason, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	if _, err := h.App.Reopen(ctx, c.UserID, inc, reason); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s reopened.", inc.ShortRef())}, nil
}

// listLimit bounds the incidents /incident list reads and shows.
const listLimit = 50

func runList(ctx context.Context, h *Handler, c Call) (Reply, error) {
	list, total, err := h.App.ListActive(ctx, c.UserID, listLimit)
	if err != nil {
		return Reply{}, err
	}
	if len(list) == 0 && total <= listLimit {
		return Reply{Text: "No open incidents. :tada:"}, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### Open incidents (%d)\n", len(list))
	b.WriteString(report.IncidentTable(list, func(inc *incident.Incident) string {
		id := report.IDCell(inc)
		if u := h.pageURL(c, web.IncidentPath(inc.ID)); u != "" {
			id = "[" + id + "](" + u + ")"
		}
		return id
	}))
	if total > listLimit {
		// The older ones are not read: the count includes incidents the
		// reader may not see, so it names none of them.
		fmt.Fprintf(&b, "\n_The newest %d of %d open incidents; name an older one with its id._", listLimit, total)
	}
	if u := h.pageURL(c, web.IncidentsPath); u != "" {
		fmt.Fprintf(&b, "\n[All incidents, with filters](%s)", u)
	}
	return Reply{Text: b.String()}, nil
}

// timelineLimit bounds the events shown in chat; the full record stays in
// the store (and in the postmortem).
const timelineLimit = 50

func runTimeline(ctx context.Context, h *Handler, c Call) (Reply, error) {
	ref, extra := takeBareRef(c.Rest)
	if extra != "" {
		return Reply{}, incident.Invalidf("timeline takes only an incident id")
	}
	inc, err := h.App.Locate(ctx, c.UserID, c.ChannelID, ref)
	if err != nil {
		return Reply{}, err
	}
	events, err := h.App.TimelineTail(ctx, inc, timelineLimit)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: report.Timeline(inc, events, h.UserName, h.Render)}, nil
}

// tableCell keeps user text inside one markdown table cell.
func tableCell(s string) string { return report.TableCell(s) }

// pageURL is the address of one of the plugin's pages; "" when unknown.
func (h *Handler) pageURL(c Call, path string) string {
	if h.PageURL == nil {
		return ""
	}
	return h.PageURL(c.SiteURL, path)
}
