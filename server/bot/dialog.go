package bot

import (
	"fmt"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// Dialog element names; the api package reads submissions by these names.
const (
	FieldTitle    = "title"
	FieldSeverity = "severity"
	FieldSummary  = "summary"
	FieldText     = "text"
)

// OpenStartDialog opens the "start an incident" dialog for the user who
// owns triggerID. state carries nothing with authority.
// runbooks are the names offered in its runbook select, rotas those in its
// rota select (none, or one rota: no select).
func (b *Bot) OpenStartDialog(triggerID string, defaultSeverity incident.Severity, runbooks, rotas []string) error {
	opts := make([]*model.PostActionOptions, 0, len(incident.Severities))
	for _, s := range incident.Severities {
		opts = append(opts, &model.PostActionOptions{Text: fmt.Sprintf("%s (%s)", s, s.Label()), Value: s.String()})
	}
	return b.openStartDialog(triggerID, model.Dialog{
		Title:            "Start an incident",
		IntroductionText: "Opens the incident's channel, posts its card and announces it.",
		SubmitLabel:      "Start",
		Elements: []model.DialogElement{
			{DisplayName: "Title", Name: FieldTitle, Type: "text", MaxLength: incident.MaxTitleRunes, Placeholder: "What is broken, for whom?"},
			{DisplayName: "Severity", Name: FieldSeverity, Type: "select", Options: opts, Default: defaultSeverity.String()},
			{DisplayName: "Summary", Name: FieldSummary, Type: "textarea", Optional: true, MaxLength: incident.MaxSummaryRunes},
		},
	}, runbooks, rotas)
}

// OpenUpdateDialog opens the status update dialog for an incident.
func (b *Bot) OpenUpdateDialog(triggerID string, inc *incident.Incident) error {
	return b.openDialog(triggerID, wire.DialogUpdate, inc.ID, model.Dialog{
		Title:            "Post status update",
		IntroductionText: fmt.Sprintf("Incident %s: %s. The update goes to the incident channel and the broadcast channel.", inc.ShortRef(), Inline(inc.Title)),
		SubmitLabel:      "Post",
		Elements: []model.DialogElement{
			{DisplayName: "Update", Name: FieldText, Type: "textarea", MaxLength: incident.MaxTextRunes,
				Placeholder: "What changed, what is next, when is the next update?"},
		},
	})
}

// OpenResolveDialog opens the resolve dialog for an incident.
func (b *Bot) OpenResolveDialog(triggerID string, inc *incident.Incident) error {
	return b.openDialog(triggerID, wire.DialogResolve, inc.ID, model.Dialog{
		Title:            "Resolve incident",
		IntroductionText: fmt.Sprintf("Incident %s: %s", inc.ShortRef(), Inline(inc.Title)),
		SubmitLabel:      "Resolve",
		Elements: []model.DialogElement{
			{DisplayName: "Summary", Name: FieldSummary, Type: "textarea", Optional: true, MaxLength: incident.MaxSummaryRunes,
				Placeholder: "Cause and fix, in a few sentences"},
		},
	})
}

// OpenHotfixDialog asks for a hotfix request: what the fix changes and,
// when someone else made it, who (the four-eyes rule needs the author).
func (b *Bot) OpenHotfixDialog(triggerID string, inc *incident.Incident) error {
	return b.openDialog(triggerID, wire.DialogHotfix, inc.ID, model.Dialog{
		Title:            "Request hotfix",
		IntroductionText: fmt.Sprintf("Incident %s: %s. The release manager is paged; the sign-off groups approve the fix in staging and again after deploy.", inc.ShortRef(), Inline(inc.Title)),
		SubmitLabel:      "Request",
		Elements: []model.DialogElement{
			{DisplayName: "What the fix changes", Name: wire.FieldDescription, Type: "textarea", MaxLength: hotfix.MaxDescriptionRunes,
				Placeholder: "Change, version or branch, and how to test it"},
			{DisplayName: "Made by", Name: wire.FieldAuthor, Type: "select", DataSource: "users", Optional: true,
				HelpText: "Leave empty if you made it. Whoever made the fix may neither release nor sign it off."},
		},
	})
}

// OpenRejectDialog asks a group member why they reject a hotfix stage.
func (b *Bot) OpenRejectDialog(triggerID string, inc *incident.Incident, h *hotfix.Hotfix, group string) error {
	stage := h.Stage()
	return b.openDialog(triggerID, wire.DialogHotfixReject, fmt.Sprintf("%s/%d/%s/%s", inc.ID, h.N, stage, group), model.Dialog{
		Title:            fmt.Sprintf("Reject hotfix %d for %s", h.N, group),
		IntroductionText: fmt.Sprintf("Incident %s: %s. Rejecting %s ends this hotfix; the fixer and the release manager are told why.", inc.ShortRef(), Inline(inc.Title), strings.ToLower(stage.Title())),
		SubmitLabel:      "Reject",
		Elements: []model.DialogElement{
			{DisplayName: "Reason", Name: wire.FieldReason, Type: "textarea", MaxLength: hotfix.MaxReasonRunes,
				Placeholder: "What failed, and how to reproduce it"},
		},
	})
}

func (b *Bot) openDialog(triggerID, name, state string, d model.Dialog) error {
	d.CallbackId = name
	d.State = state
	if appErr := b.api.OpenInteractiveDialog(model.OpenDialogRequest{
		TriggerId: triggerID,
		URL:       "/plugins/" + b.pluginID + wire.DialogsPath + name,
		Dialog:    d,
	}); appErr != nil {
		return fmt.Errorf("open %s dialog: %w", name, appErr)
	}
	return nil
}

// openStartDialog adds the runbook select to the start dialog d when there
// are runbooks to choose from.
func (b *Bot) openStartDialog(triggerID string, d model.Dialog, runbooks, rotas []string) error {
	if len(runbooks) > 0 {
		d.Elements = append(d.Elements, model.DialogElement{DisplayName: "Runbook", Name: FieldRunbook, Type: "select", Optional: true,
			Options: runbookOptions(runbooks), HelpText: "The checklist to follow; empty: the runbook rules in the settings decide."})
	}
	if len(rotas) > 1 {
		opts := make([]*model.PostActionOptions, 0, len(rotas))
		for _, r := range rotas {
			opts = append(opts, &model.PostActionOptions{Text: r, Value: r})
		}
		d.Elements = append(d.Elements, model.DialogElement{DisplayName: "Rota", Name: FieldRota, Type: "select", Optional: true,
			Options: opts, HelpText: "Who is staffed and paged; empty: the rota rules, else the team's rota, else the first."})
	}
	return b.openDialog(triggerID, wire.DialogStart, "", d)
}
