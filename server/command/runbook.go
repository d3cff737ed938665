package command

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

func runbookArgs(a *model.AutocompleteData) {
	for _, v := range []struct{ name, hint, help string }{
		{"list", "", "List the runbooks"},
		{"show", "<name>", "Show a runbook's checklist"},
		{"set", "<name>", "Create or change a runbook in a dialog (admins); a new version each time"},
		{"remove", "<name>", "Remove a runbook (admins); running incidents keep their version"},
		{"use", "[#id] <name>", "Follow a runbook on this incident: its checklist is posted"},
	} {
		a.AddCommand(model.NewAutocompleteData(v.name, v.hint, v.help))
	}
}

func stepArgs(a *model.AutocompleteData) {
	for _, v := range []struct{ name, hint, help string }{
		{"list", "[#id]", "Show the incident's checklist"},
		{"done", "[#id] <n>", "Mark step n done"},
		{"skip", "[#id] <n> <reason>", "Skip step n, saying why"},
		{"undo", "[#id] <n>", "Open step n again"},
		{"add", "[#id] <text> [im|l1|l2|l3|rm]", "Add a step the runbook lacked; the postmortem proposes it as a runbook change"},
	} {
		a.AddCommand(model.NewAutocompleteData(v.name, v.hint, v.help))
	}
}

// runRunbook: /incident runbook list | show <name> | set <name> [markdown]
// | remove <name> | use [#id] <name>.
func runRunbook(ctx context.Context, h *Handler, c Call) (Reply, error) {
	op, rest, _ := cutSpace(c.Rest)
	switch strings.ToLower(op) {
	case "", "list":
		list, err := h.App.Runbooks(ctx)
		if err != nil {
			return Reply{}, err
		}
		if len(list) == 0 {
			return Reply{Text: fmt.Sprintf("No runbooks yet. An admin writes one with `/%s runbook set <name>`.", Trigger)}, nil
		}
		var b strings.Builder
		b.WriteString("#### Runbooks\n| Name | Version | Description |\n|---|---|---|\n")
		for _, r := range list {
			fmt.Fprintf(&b, "| `%s` | %d | %s |\n", r.Name, r.Version, tableCell(r.Description))
		}
		return Reply{Text: b.String()}, nil
	case "show":
		d, err := h.App.Runbook(ctx, strings.TrimSpace(rest))
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("#### Runbook `%s`, version %d (%d steps)\n%s\n```markdown\n%s\n```",
			d.Name, d.Version, len(d.Steps), mention.Inline(d.Description), strings.ReplaceAll(d.Markdown, "```", "'''"))}, nil
	case "set":
		name, md, _ := strings.Cut(rest, "\n")
		name, err := runbook.CleanName(name)
		if err != nil {
			return Reply{}, err
		}
		if strings.TrimSpace(md) != "" {
			d, err := h.App.SetRunbook(ctx, c.UserID, name, "", md)
			if err != nil {
				return Reply{}, err
			}
			return Reply{Text: fmt.Sprintf("Runbook `%s` saved as version %d (%d steps).", d.Name, d.Version, len(d.Steps))}, nil
		}
		if !h.App.MayEditRunbooks(ctx, c.UserID) {
			return Reply{}, incident.Forbiddenf("only system admins and rota admins may change runbooks; `/incident runbook list` shows them")
		}
		cur, err := h.App.Runbook(ctx, name)
		if incident.KindOf(err) == incident.KindNotFound {
			cur, err = nil, nil
		}
		if err != nil {
			return Reply{}, err
		}
		return Reply{}, h.Dialogs.OpenRunbookDialog(c.TriggerID, name, cur)
	case "remove", "delete":
		if err := h.App.RemoveRunbook(ctx, c.UserID, strings.TrimSpace(rest)); err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Runbook `%s` removed; incidents following it keep their version.", strings.ToLower(strings.TrimSpace(rest)))}, nil
	case "use":
		inc, name, err := h.locate(ctx, Call{UserID: c.UserID, ChannelID: c.ChannelID, Rest: rest})
		if err != nil {
			return Reply{}, err
		}
		cl, err := h.App.UseRunbook(ctx, c.UserID, inc, strings.TrimSpace(name))
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("%s follows runbook `%s` version %d; its checklist is posted in the incident channel.", inc.ShortRef(), cl.Runbook, cl.Version)}, nil
	}
	return Reply{}, incident.Invalidf("unknown runbook command %q: use list, show, set, remove or use", op)
}

// runStep: /incident step [#id] done|skip|undo <n> [reason] | add <text>
// [role] | list.
func runStep(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, rest, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	op, rest, _ := cutSpace(rest)
	op = strings.ToLower(op)
	switch op {
	case "", "list":
		cl, ok, err := h.App.Checklist(ctx, inc)
		if err != nil {
			return Reply{}, err
		}
		if !ok {
			return Reply{Text: fmt.Sprintf("%s follows no runbook. `/%s runbook use <name>` attaches one.", inc.ShortRef(), Trigger)}, nil
		}
		return Reply{Text: h.Render(checklistText(inc, cl))}, nil
	case "add":
		text, role := rest, incident.Role("")
		if i := strings.LastIndexFunc(strings.TrimSpace(text), func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }); i > 0 {
			last := strings.TrimSpace(text)[i+1:]
			if r, err := incident.ParseRole(last); err == nil && len(last) == 2 {
				text, role = strings.TrimSpace(text)[:i], r
			}
		}
		it, err := h.App.StepAdd(ctx, c.UserID, inc, text, role)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Step %d added to the checklist of %s; the postmortem proposes it as a runbook change.", it.N, inc.ShortRef())}, nil
	case "done", "skip", "undo":
		num, reason, _ := cutSpace(rest)
		n, err := strconv.Atoi(strings.TrimPrefix(num, "#"))
		if err != nil || n < 1 {
			return Reply{}, incident.Invalidf("name the step by its number, e.g. `/%s step %s 3`", Trigger, op)
		}
		var what string
		switch op {
		case "done":
			what = "done"
			_, err = h.App.StepDone(ctx, c.UserID, inc, n)
		case "skip":
			what = "skipped"
			_, err = h.App.StepSkip(ctx, c.UserID, inc, n, reason)
		case "undo":
			what = "open again"
			_, err = h.App.StepUndo(ctx, c.UserID, inc, n)
		}
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Step %d of %s is %s.", n, inc.ShortRef(), what)}, nil
	}
	return Reply{}, incident.Invalidf("unknown step command %q: use done, skip, undo, add or list", op)
}

// checklistText renders the checklist for a reply, in domain text (<@id>).
func checklistText(inc *incident.Incident, c *runbook.Checklist) string {
	closed, total := c.Progress()
	var b strings.Builder
	fmt.Fprintf(&b, "#### Runbook `%s` version %d on %s: %d of %d steps\n", c.Runbook, c.Version, inc.ShortRef(), closed, total)
	section := ""
	for _, it := range c.Items {
		if it.Section != section {
			section = it.Section
			fmt.Fprintf(&b, "**%s**\n", mention.Inline(section))
		}
		mark := map[runbook.Status]string{runbook.StatusOpen: "⬜", runbook.StatusDone: "✅", runbook.StatusSkipped: "⏭"}[it.Status]
		fmt.Fprintf(&b, "- %s %d. %s", mark, it.N, mention.Inline(it.Text))
		if it.Role != "" {
			fmt.Fprintf(&b, " · %s", it.Role.Title())
			if u := inc.Roles[it.Role]; u != "" {
				fmt.Fprintf(&b, " <@%s>", u)
			}
		}
		if it.Status != runbook.StatusOpen {
			fmt.Fprintf(&b, " (%s by <@%s> at %s", it.Status, it.By, it.At.UTC().Format(wire.TimeLayout))
			if it.Reason != "" {
				b.WriteString(": " + mention.Inline(it.Reason))
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
	}
	return b.String()
}
