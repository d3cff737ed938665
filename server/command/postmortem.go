package command

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

func runPostmortem(ctx context.Context, h *Handler, c Call) (Reply, error) {
	ref, extra := takeBareRef(c.Rest)
	if extra != "" {
		return Reply{}, incident.Invalidf("postmortem takes only an incident id")
	}
	inc, err := h.App.Locate(ctx, c.UserID, c.ChannelID, ref)
	if err != nil {
		return Reply{}, err
	}
	if err := h.App.PublishPostmortem(ctx, c.UserID, inc); err != nil {
		return Reply{}, err
	}
	kind := "Postmortem"
	if inc.Status != incident.StatusResolved {
		kind = "Draft postmortem"
	}
	return Reply{Text: fmt.Sprintf("%s of %s posted in its channel (and the postmortems channel, if set), with the Markdown file attached.", kind, inc.ShortRef())}, nil
}

func runImpact(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, text, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	if _, err := h.App.SetImpact(ctx, c.UserID, inc, text); err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Impact of %s recorded for the postmortem.", inc.ShortRef())}, nil
}

// runAction serves `action add <text> [@owner] [--due <date>]`,
// `action done <n>` and `action list`.
func runAction(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, rest, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	verb, args, _ := cutSpace(rest)
	switch strings.ToLower(verb) {
	case "add":
		text, vals, unknown := flags(args, "due")
		if unknown != "" {
			return Reply{}, incident.Invalidf("unknown option %s: use --due <date>", unknown)
		}
		owner := ""
		if f := strings.Fields(text); len(f) > 1 && strings.HasPrefix(f[len(f)-1], "@") {
			if owner, err = h.user(f[len(f)-1]); err != nil {
				return Reply{}, err
			}
			text = strings.Join(f[:len(f)-1], " ")
		}
		var due time.Time
		if d, ok := vals["due"]; ok {
			v, err := h.App.Rota(ctx)
			if err != nil {
				return Reply{}, err
			}
			if due, err = rota.ParseWhen(d, v.Location); err != nil {
				return Reply{}, err
			}
		}
		it, err := h.App.AddActionItem(ctx, c.UserID, inc, text, owner, due)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Action item %d added to %s.", it.N, inc.ShortRef())}, nil
	case "done":
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(args), "#"))
		if err != nil {
			return Reply{}, incident.Invalidf("give the item's number, e.g. `action done 2`")
		}
		if _, err := h.App.CompleteActionItem(ctx, c.UserID, inc, n); err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Action item %d of %s done.", n, inc.ShortRef())}, nil
	case "list", "":
		l, err := h.App.ActionItems(ctx, inc)
		if err != nil {
			return Reply{}, err
		}
		if len(l.Items) == 0 {
			return Reply{Text: fmt.Sprintf("%s has no action items yet: `/incident action add <text> [@owner] [--due <date>]`.", inc.ShortRef())}, nil
		}
		var b strings.Builder
		fmt.Fprintf(&b, "#### Action items of %s (%d open)\n| # | Item | Owner | Due | Status |\n|---|---|---|---|---|\n", inc.ShortRef(), l.Open())
		for _, it := range l.Items {
			owner, due, st := "-", "-", "open"
			if it.Owner != "" {
				owner = "<@" + it.Owner + ">"
			}
			if !it.Due.IsZero() {
				due = it.Due.Format("2006-01-02")
			}
			if it.Done {
				st = "done " + it.DoneAt.Format("2006-01-02")
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", it.N, tableCell(it.Text), owner, due, st)
		}
		return Reply{Text: h.Render(b.String())}, nil
	}
	return Reply{}, incident.Invalidf("unknown action command %q: use add, done or list", verb)
}

func actionArgs(a *model.AutocompleteData) {
	for _, v := range []struct{ name, hint, help string }{
		{"add", "<text> [@owner] [--due <date>]", "Add a follow-up task"},
		{"done", "<n>", "Mark item n done"},
		{"list", "", "List the action items"},
	} {
		a.AddCommand(model.NewAutocompleteData(v.name, v.hint, v.help))
	}
}
