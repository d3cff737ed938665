package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

var _ app.Runbooks = (*Bot)(nil)

// The runbook checklist post: per step a Done and a Skip button while it is
// open, an Undo button once done or skipped. Button ids carry the step
// number ("stepdone3"), the context the incident and the step; the post's
// PropChecklist marks it as the incident's checklist, and the app checks it
// is the one the checklist names.
const (
	ActionStepDone = "stepdone"
	ActionStepSkip = "stepskip"
	ActionStepUndo = "stepundo"
	PropChecklist  = "runbook_checklist"
	ContextStep    = "step"
	// DialogStepSkip asks why a step is skipped; its state is
	// "<incident id>/<step>".
	DialogStepSkip = "stepskip"
	// DialogRunbook edits a runbook (admins); its state is the name, ""
	// for a new one.
	DialogRunbook = "runbook"
	FieldName     = "name"
	FieldMarkdown = "markdown"
	FieldRunbook  = "runbook"
	// FieldRota is the start dialog's rota select.
	FieldRota = "rota"
	// ActionRunbookApply, on the postmortem's proposed runbook change,
	// applies the steps added during the incident as a new version.
	ActionRunbookApply = "runbookapply"
)

// maxStepButtons bounds the step attachments of a checklist post; the
// message lists every step anyway, and commands reach all of them.
const maxStepButtons = 60

// PostChecklist posts the checklist in the incident channel.
func (b *Bot) PostChecklist(ctx context.Context, inc *incident.Incident, c *runbook.Checklist, mention map[incident.Role]string) (string, error) {
	created, err := b.create(ctx, b.checklistPost(inc, c, mention))
	if err != nil {
		return "", fmt.Errorf("post checklist of %s: %w", inc.ShortRef(), err)
	}
	return created.Id, nil
}

// UpdateChecklist re-renders the checklist post.
func (b *Bot) UpdateChecklist(ctx context.Context, inc *incident.Incident, c *runbook.Checklist) error {
	if c.PostID == "" {
		return nil
	}
	p := b.checklistPost(inc, c, c.Mentioned)
	p.Id = c.PostID
	if _, appErr := b.update(ctx, p); appErr != nil {
		return fmt.Errorf("update checklist post of %s: %w", inc.ShortRef(), appErr)
	}
	return nil
}

// MentionStepHolders replies in the checklist's thread to new role
// holders with their open steps.
func (b *Bot) MentionStepHolders(ctx context.Context, inc *incident.Incident, c *runbook.Checklist, mention map[incident.Role]string) error {
	n := b.pageNames(inc)
	lines := holderLines(c, mention, n.mention)
	if len(lines) == 0 {
		return nil
	}
	p := &model.Post{UserId: b.userID, ChannelId: inc.ChannelID, RootId: c.PostID,
		Message: Sanitize("Runbook steps for the new role holders:\n" + strings.Join(lines, "\n"))}
	if _, err := b.create(ctx, p); err != nil {
		return fmt.Errorf("mention step holders of %s: %w", inc.ShortRef(), err)
	}
	return nil
}

// holderLines: "- @bob (Release manager): steps 2, 5", per role in mention.
func holderLines(c *runbook.Checklist, mention map[incident.Role]string, name func(string) string) []string {
	var lines []string
	for _, r := range incident.Roles {
		u := mention[r]
		if u == "" {
			continue
		}
		var nums []string
		for _, it := range c.Items {
			if it.Role == r && it.Status == runbook.StatusOpen {
				nums = append(nums, strconv.Itoa(it.N))
			}
		}
		if len(nums) > 0 {
			lines = append(lines, fmt.Sprintf("- %s (%s): steps %s", name(u), r.Title(), strings.Join(nums, ", ")))
		}
	}
	return lines
}

func (b *Bot) checklistPost(inc *incident.Incident, c *runbook.Checklist, mention map[incident.Role]string) *model.Post {
	n := b.pageNames(inc)
	closed, total := c.Progress()
	var m strings.Builder
	fmt.Fprintf(&m, "#### :clipboard: Runbook **%s** (version %d) for incident %s\n", c.Runbook, c.Version, inc.ShortRef())
	fmt.Fprintf(&m, "**%d of %d steps** done or skipped. `/incident step done|skip|undo <n>` works too.\n", closed, total)
	if lines := holderLines(c, mention, n.mention); len(lines) > 0 {
		m.WriteString("Steps for role holders:\n" + strings.Join(lines, "\n") + "\n")
	}
	p := &model.Post{UserId: b.userID, ChannelId: inc.ChannelID, Message: Sanitize(m.String())}
	p.AddProp(wire.PropIncidentID, inc.ID)
	p.AddProp(PropChecklist, c.Runbook+"/"+strconv.Itoa(c.Version))
	var atts []*model.MessageAttachment
	section := ""
	for i, it := range c.Items {
		if i >= maxStepButtons {
			atts = append(atts, &model.MessageAttachment{Text: fmt.Sprintf("… and %d more steps: use `/incident step`.", len(c.Items)-i)})
			break
		}
		a := &model.MessageAttachment{Text: Sanitize(stepLine(inc, it, n)), Color: stepColor(it.Status),
			Actions: b.stepActions(inc, it)}
		if it.Section != section {
			section = it.Section
			a.Pretext = "**" + Inline(section) + "**"
		}
		atts = append(atts, a)
	}
	p.AddProp("attachments", atts)
	return p
}

func stepColor(s runbook.Status) string {
	switch s {
	case runbook.StatusDone:
		return resolvedColor
	case runbook.StatusSkipped:
		return hotfixClosedColor
	}
	return hotfixPendingColor
}

// stepLine renders a step: "⬜ **3.** Freeze deploys · Release manager @bob",
// then who closed it, when, and why.
func stepLine(inc *incident.Incident, it runbook.Item, n *pageNames) string {
	mark := map[runbook.Status]string{runbook.StatusOpen: "⬜", runbook.StatusDone: "✅", runbook.StatusSkipped: "⏭"}[it.Status]
	s := fmt.Sprintf("%s **%d.** %s", mark, it.N, Inline(it.Text))
	if it.Role != "" {
		s += " · " + it.Role.Title()
		if u := inc.Roles[it.Role]; u != "" {
			s += " " + n.quiet(u)
		}
	}
	switch it.Status {
	case runbook.StatusDone:
		s += "\nDone by " + n.quiet(it.By) + " at " + formatTime(it.At)
	case runbook.StatusSkipped:
		s += "\nSkipped by " + n.quiet(it.By) + " at " + formatTime(it.At) + withReason(it.Reason)
	}
	if it.AddedBy != "" {
		s += "\n_Added during the incident by " + n.quiet(it.AddedBy) + "_"
	}
	return s
}

func (b *Bot) stepActions(inc *incident.Incident, it runbook.Item) []*model.PostAction {
	button := func(action, label, style string) *model.PostAction {
		return &model.PostAction{Id: action + strconv.Itoa(it.N), Type: model.PostActionTypeButton, Name: label, Style: style,
			Integration: &model.PostActionIntegration{URL: "/plugins/" + b.pluginID + wire.ActionsPath + action,
				Context: map[string]any{wire.ContextIncidentID: inc.ID, ContextStep: strconv.Itoa(it.N)}}}
	}
	if it.Status == runbook.StatusOpen {
		return []*model.PostAction{button(ActionStepDone, "Done", "good"), button(ActionStepSkip, "Skip", "default")}
	}
	return []*model.PostAction{button(ActionStepUndo, "Undo", "default")}
}

// OpenStepSkipDialog asks why step n is skipped.
func (b *Bot) OpenStepSkipDialog(triggerID string, inc *incident.Incident, it runbook.Item) error {
	return b.openDialog(triggerID, DialogStepSkip, inc.ID+"/"+strconv.Itoa(it.N), model.Dialog{
		Title:            fmt.Sprintf("Skip step %d", it.N),
		IntroductionText: fmt.Sprintf("Incident %s, step %d: %s", inc.ShortRef(), it.N, Inline(it.Text)),
		SubmitLabel:      "Skip",
		Elements: []model.DialogElement{
			{DisplayName: "Reason", Name: wire.FieldReason, Type: "textarea", MaxLength: runbook.MaxReasonRunes,
				Placeholder: "Why this step is not needed this time"},
		},
	})
}

// OpenRunbookDialog opens the runbook editor (admins): cur is the current
// version, nil for a new runbook called name.
func (b *Bot) OpenRunbookDialog(triggerID, name string, cur *runbook.Definition) error {
	desc, md, intro := "", "# First ten minutes\n- [ ] [im] Open the incident channel and post the first update\n- [ ] [l1] Check the dashboards\n- [ ] [rm] Freeze deploys\n", "A new runbook."
	if cur != nil {
		desc, md = cur.Description, cur.Markdown
		intro = fmt.Sprintf("Version %d, saved %s. Saving makes version %d; running incidents keep theirs.", cur.Version, formatTime(cur.At), cur.Version+1)
	}
	return b.openDialog(triggerID, DialogRunbook, name, model.Dialog{
		Title:            "Runbook " + name,
		IntroductionText: intro + " Steps are lines `- [ ] text`; `- [ ] [rm] text` gives one to a role (im, l1, l2, l3, rm); `#` headings group them.",
		SubmitLabel:      "Save",
		Elements: []model.DialogElement{
			{DisplayName: "Description", Name: wire.FieldDescription, Type: "text", Optional: true, MaxLength: runbook.MaxDescriptionRune, Default: desc},
			{DisplayName: "Checklist (Markdown)", Name: FieldMarkdown, Type: "textarea", MaxLength: runbook.MaxMarkdownBytes, Default: md},
		},
	})
}

// runbookOptions are the start dialog's runbook choices.
func runbookOptions(names []string) []*model.PostActionOptions {
	opts := make([]*model.PostActionOptions, 0, len(names))
	for _, n := range slices.Sorted(slices.Values(names)) {
		opts = append(opts, &model.PostActionOptions{Text: n, Value: n})
	}
	return opts
}

// PropRunbookProposal marks the post that proposes the steps added during
// an incident as a runbook change, with its Apply button.
const PropRunbookProposal = "runbook_proposal"

// MarkProposalApplied replaces the proposal's button with the version it
// made.
func (b *Bot) MarkProposalApplied(postID string, d *runbook.Definition) error {
	p, appErr := b.api.GetPost(postID)
	if appErr != nil {
		return appErr
	}
	p = p.Clone()
	p.Message += fmt.Sprintf("\n:white_check_mark: Applied as version %d of runbook `%s`.", d.Version, d.Name)
	p.DelProp("attachments")
	_, appErr = b.update(context.Background(), p)
	if appErr != nil {
		return appErr
	}
	return nil
}

// PostProposal posts the proposed runbook change with its Apply button.
func (b *Bot) PostProposal(ctx context.Context, inc *incident.Incident, c *runbook.Checklist, proposed string) error {
	n := b.pageNames(inc)
	var m strings.Builder
	fmt.Fprintf(&m, "#### :memo: Proposed change to runbook `%s`\n", c.Runbook)
	fmt.Fprintf(&m, "Steps added during incident %s (which followed version %d):\n", inc.ShortRef(), c.Version)
	for _, it := range c.Added() {
		fmt.Fprintf(&m, "- %s", Inline(it.Text))
		if it.Role != "" {
			fmt.Fprintf(&m, " (%s)", it.Role.Title())
		}
		fmt.Fprintf(&m, ", added by %s\n", n.quiet(it.AddedBy))
	}
	m.WriteString("System and rota admins: **Apply to runbook** makes them a new version; incidents keep the version they follow.\n")
	m.WriteString("```markdown\n" + strings.ReplaceAll(proposed, "```", "'''") + "\n```")
	p := &model.Post{UserId: b.userID, ChannelId: inc.ChannelID, Message: Sanitize(m.String())}
	p.AddProp(wire.PropIncidentID, inc.ID)
	p.AddProp(PropRunbookProposal, c.Runbook)
	p.AddProp("attachments", []*model.MessageAttachment{{
		Actions: []*model.PostAction{{Id: ActionRunbookApply, Type: model.PostActionTypeButton, Name: "Apply to runbook", Style: "primary",
			Integration: &model.PostActionIntegration{URL: "/plugins/" + b.pluginID + wire.ActionsPath + ActionRunbookApply,
				Context: map[string]any{wire.ContextIncidentID: inc.ID}}}},
	}})
	if _, err := b.create(ctx, p); err != nil {
		return fmt.Errorf("post runbook proposal of %s: %w", inc.ShortRef(), err)
	}
	return nil
}
