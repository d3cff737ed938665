package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

var _ app.Releases = (*Bot)(nil)

// Colours of the sign-off attachment.
const (
	hotfixPendingColor  = "#f5a623"
	hotfixDoneColor     = resolvedColor
	hotfixRejectedColor = "#d0021b"
	hotfixClosedColor   = "#9b9b9b"
)

// Mentions: a post notifies whom its message really mentions, once, when
// it is created; edits notify nobody. So the sign-off post really mentions
// the release manager and the members who may sign, and names everyone
// else quietly; notices in reply to it really mention only whom the next
// step needs, and the broadcast channel, read by stakeholders, is never
// pinged about individuals.

// PostHotfix posts h's sign-off post in the incident channel.
func (b *Bot) PostHotfix(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups) (string, error) {
	created, appErr := b.create(ctx, b.hotfixPost(inc, h, groups))
	if appErr != nil {
		return "", fmt.Errorf("post sign-off of %s: %w", h.Ref(), appErr)
	}
	return created.Id, nil
}

// UpdateHotfix re-renders the sign-off post. The message is rebuilt from
// the record, so it stays as posted; only the attachment moves on.
func (b *Bot) UpdateHotfix(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups) error {
	if h.PostID == "" {
		return nil
	}
	p := b.hotfixPost(inc, h, groups)
	p.Id = h.PostID
	if _, appErr := b.update(ctx, p); appErr != nil {
		return fmt.Errorf("update sign-off post %s of %s: %w", h.PostID, h.Ref(), appErr)
	}
	return nil
}

// HotfixNotice replies in the sign-off post's thread and broadcasts, as
// the event calls for. Every post is tried; the failures are returned
// together.
func (b *Bot) HotfixNotice(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups, ev incident.Event, broadcastChannelID string) error {
	n := b.pageNames(nil) // the channel link only when broadcasting: it costs a lookup
	// The incident channel has the thread; a broadcast there would say it
	// twice.
	toBroadcast := broadcastChannelID != "" && broadcastChannelID != inc.ChannelID
	if toBroadcast {
		n.channel = b.channelLink(inc)
		if inc.Redacted() {
			n.channel = b.askFor(inc)
		}
	}
	thread, broadcast := hotfixNoticeText(inc, h, groups, ev, n)
	props := model.StringInterface{wire.PropIncidentID: inc.ID, wire.PropHotfix: strconv.Itoa(h.N)}
	var errs []error
	if thread != "" {
		p := &model.Post{UserId: b.userID, ChannelId: hotfixChannel(inc, h), RootId: h.PostID, Message: Sanitize(thread)}
		for k, v := range props {
			p.AddProp(k, v)
		}
		if _, appErr := b.create(ctx, p); appErr != nil {
			errs = append(errs, fmt.Errorf("reply to sign-off post of %s: %w", h.Ref(), appErr))
		}
	}
	if toBroadcast && broadcast != "" {
		if _, err := b.post(ctx, broadcastChannelID, Sanitize(broadcast), props); err != nil {
			errs = append(errs, fmt.Errorf("broadcast %s of %s: %w", ev.Type, h.Ref(), err))
		}
	}
	return errors.Join(errs...)
}

// AnnounceFreeze tells the broadcast channel that a release freeze began
// or ended. Only ids of the incidents are known here, so they are shown
// as #id references.
func (b *Bot) AnnounceFreeze(ctx context.Context, f *app.Freeze, started bool, broadcastChannelID string) error {
	if broadcastChannelID == "" {
		return nil
	}
	if _, err := b.post(ctx, broadcastChannelID, freezeMessage(f, started), nil); err != nil {
		return fmt.Errorf("announce release freeze (started %t): %w", started, err)
	}
	return nil
}

// hotfixChannel is where the sign-off post is.
func hotfixChannel(inc *incident.Incident, h *hotfix.Hotfix) string {
	if h.ChannelID != "" {
		return h.ChannelID
	}
	return inc.ChannelID
}

func (b *Bot) hotfixPost(inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups) *model.Post {
	n := b.pageNames(nil)
	p := &model.Post{UserId: b.userID, ChannelId: hotfixChannel(inc, h), Message: hotfixMessage(inc, h, groups, n)}
	// An edit replaces all props, so both renderings carry them.
	p.AddProp(wire.PropIncidentID, inc.ID)
	p.AddProp(wire.PropHotfix, strconv.Itoa(h.N))
	p.AddProp("attachments", []*model.MessageAttachment{b.hotfixAttachment(inc, h, groups, n)})
	return p
}

// hotfixMessage is the sign-off post's text. It depends on the request and
// the group members, never on the status, so re-renders leave it as
// posted unless a group's membership changed.
func hotfixMessage(inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups, n *pageNames) string {
	var m strings.Builder
	fmt.Fprintf(&m, "#### :hammer_and_wrench: Hotfix %d for incident %s **%s**\n", h.N, inc.ShortRef(), Inline(inc.Title))
	m.WriteString("Requested by " + n.quiet(h.RequestedBy))
	if h.Author != "" && h.Author != h.RequestedBy {
		m.WriteString(" · fix by " + n.quiet(h.Author))
	}
	m.WriteString(" · release manager " + releaseManager(h, n.mention))
	if h.RMNote != "" {
		// The note names the fixer, who has nothing to do here, and the
		// release manager, already mentioned: both quietly.
		m.WriteString("\n:information_source: " + rota.RenderUsers(h.RMNote, n.quiet))
	}
	m.WriteString("\nStaging sign-off needed from: " + groupMembers(h, groups, n.mention) + "\n")
	// The quote comes last: a line after it would continue the quote.
	m.WriteString(Quote(h.Description))
	return Sanitize(m.String())
}

// releaseManager names h's release manager with name (a real or a quiet
// mention).
func releaseManager(h *hotfix.Hotfix, name func(string) string) string {
	if h.ReleaseManager == "" {
		return "**none assigned**"
	}
	return name(h.ReleaseManager)
}

// groupMembers lists the required groups with the members who may sign
// them: "**qa** (@a, @b), **support** (@c)".
func groupMembers(h *hotfix.Hotfix, groups *hotfix.Groups, name func(string) string) string {
	parts := make([]string, 0, len(h.Groups))
	for _, g := range h.Groups {
		parts = append(parts, fmt.Sprintf("**%s** (%s)", g, nameList(signers(h, groups, g, ""), name)))
	}
	return strings.Join(parts, ", ")
}

// signers are the members of group who may sign stage ("" = any stage):
// never a fixer (requester or author), nor whoever already signed another
// group at stage.
func signers(h *hotfix.Hotfix, groups *hotfix.Groups, group string, stage hotfix.Stage) []string {
	if groups == nil {
		return nil
	}
	var out []string
	for _, u := range groups.Members[group] {
		signed := slices.ContainsFunc(h.Signoffs, func(s hotfix.Signoff) bool { return s.Stage == stage && s.UserID == u })
		if !h.IsFixer(u) && !signed {
			out = append(out, u)
		}
	}
	return out
}

func nameList(ids []string, name func(string) string) string {
	if len(ids) == 0 {
		return "nobody eligible: add members with `/incident signoff-group set`"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = name(id)
	}
	return strings.Join(out, ", ")
}

// hotfixAttachment shows where the sign-off stands, in the order things
// happen: staging, deploy, after deploy, outcome.
func (b *Bot) hotfixAttachment(inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups, n *pageNames) *model.MessageAttachment {
	lines := []string{"Status: **" + h.Status.Label() + "**"}
	lines = append(lines, stageLines(h, hotfix.StageStaging, groups, n)...)
	lines = append(lines, deployLine(h, n))
	lines = append(lines, stageLines(h, hotfix.StageAfterDeploy, groups, n)...)
	color := hotfixPendingColor
	switch h.Status {
	case hotfix.StatusDone:
		color = hotfixDoneColor
		lines = append(lines, "✅ Signed off after deploy at "+formatTime(h.DoneAt))
	case hotfix.StatusRejected:
		color = hotfixRejectedColor
		lines = append(lines, "❌ Rejected by "+n.quiet(h.ClosedBy)+" at "+formatTime(h.ClosedAt)+withReason(h.ClosedWhy))
	case hotfix.StatusCancelled:
		color = hotfixClosedColor
		lines = append(lines, "⏹ Cancelled by "+n.quiet(h.ClosedBy)+" at "+formatTime(h.ClosedAt)+withReason(h.ClosedWhy))
	}
	return &model.MessageAttachment{
		Fallback: fmt.Sprintf("Hotfix %d for %s: %s", h.N, inc.ShortRef(), h.Status.Label()),
		Title:    "Sign-off",
		Color:    color,
		Text:     Sanitize(strings.Join(lines, "\n")),
		Actions:  b.hotfixActions(inc, h),
	}
}

// withReason appends a user's reason on the same line, if there is one.
func withReason(reason string) string {
	if strings.TrimSpace(reason) == "" {
		return ""
	}
	return ": " + Inline(reason)
}

// stageLines show each required group's verdict on stage.
func stageLines(h *hotfix.Hotfix, stage hotfix.Stage, groups *hotfix.Groups, n *pageNames) []string {
	head := "**" + stage.Title() + "**"
	if stage == hotfix.StageAfterDeploy && h.DeployedAt.IsZero() {
		return []string{head + ": not started"}
	}
	lines := []string{head}
	for _, g := range h.Groups {
		s, ok := h.Signoff(stage, g)
		switch {
		case ok && s.Approved:
			lines = append(lines, fmt.Sprintf("✅ %s: approved by %s at %s", g, n.quiet(s.UserID), formatTime(s.At)))
		case ok:
			lines = append(lines, fmt.Sprintf("❌ %s: rejected by %s at %s%s", g, n.quiet(s.UserID), formatTime(s.At), withReason(s.Reason)))
		case h.Stage() == stage:
			lines = append(lines, fmt.Sprintf("⏳ %s: waiting for %s", g, nameList(signers(h, groups, g, stage), n.quiet)))
		default:
			lines = append(lines, fmt.Sprintf("➖ %s: not signed", g))
		}
	}
	return lines
}

func deployLine(h *hotfix.Hotfix, n *pageNames) string {
	switch {
	case !h.DeployedAt.IsZero():
		return "🚀 Deployed by " + n.quiet(h.DeployedBy) + " at " + formatTime(h.DeployedAt)
	case h.Status == hotfix.StatusReady:
		return "⏳ Waiting for the release manager " + releaseManager(h, n.quiet) + " to deploy and press Deployed"
	case h.Status == hotfix.StatusStaging:
		return "Not deployed yet: the release manager " + releaseManager(h, n.quiet) + " presses Deployed after staging is signed off"
	}
	return "Not deployed"
}

// hotfixActions are the buttons for the current step: Approve and Reject
// per group still to sign the current stage, or Deployed once staging is
// signed off. A finished hotfix has none.
func (b *Bot) hotfixActions(inc *incident.Incident, h *hotfix.Hotfix) []*model.PostAction {
	num := strconv.Itoa(h.N)
	button := func(action string, i int, label, style string, extra map[string]any) *model.PostAction {
		id := action
		if i >= 0 {
			id += strconv.Itoa(i) // unique per group, and letters and digits only
		}
		ctx := map[string]any{wire.ContextIncidentID: inc.ID, wire.ContextHotfix: num}
		maps.Copy(ctx, extra)
		return &model.PostAction{Id: id, Type: model.PostActionTypeButton, Name: label, Style: style,
			Integration: &model.PostActionIntegration{URL: "/plugins/" + b.pluginID + wire.ActionsPath + action, Context: ctx}}
	}
	var acts []*model.PostAction
	if stage := h.Stage(); stage != "" {
		for i, g := range h.Groups {
			if _, signed := h.Signoff(stage, g); signed {
				continue
			}
			choice := map[string]any{wire.ContextGroup: g, wire.ContextStage: string(stage)}
			acts = append(acts,
				button(wire.ActionHotfixApprove, i, "Approve "+g, "good", choice),
				button(wire.ActionHotfixReject, i, "Reject "+g, "danger", choice))
		}
	}
	if h.Status == hotfix.StatusReady {
		acts = append(acts, button(wire.ActionHotfixDeployed, -1, "Deployed", "primary", nil))
	}
	return acts
}

// hotfixNoticeText renders ev as a reply in the sign-off thread and a
// broadcast ("" = none), which links the incident channel (n.channel).
func hotfixNoticeText(inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups, ev incident.Event, n *pageNames) (thread, broadcast string) {
	head := fmt.Sprintf("**Incident %s: %s**", inc.ShortRef(), Inline(inc.Title))
	who := n.quiet(ev.Actor)
	// A private incident's broadcasts may leave its details out.
	desc, why := "\n"+Quote(h.Description), withReason(ev.Text)
	if inc.Redacted() {
		head, desc, why = fmt.Sprintf("**Private incident %s**", inc.ShortRef()), "", ""
	}
	switch ev.Type {
	case incident.EventHotfixRequested:
		// The sign-off post is the incident channel's notice.
		broadcast = fmt.Sprintf(":hammer_and_wrench: Hotfix %d requested for %s by %s · release manager %s · %s%s",
			h.N, head, who, releaseManager(h, n.quiet), n.channel, desc)
	case incident.EventHotfixSigned:
		if ev.Data[incident.DataVerdict] != incident.VerdictRejected {
			return "", "" // the post shows approvals
		}
		stage := strings.ToLower(hotfix.Stage(ev.Data[incident.DataStage]).Title())
		group := ev.Data[incident.DataGroup]
		tell := []string{n.mention(h.Author)}
		if h.RequestedBy != h.Author {
			tell = append(tell, n.mention(h.RequestedBy))
		}
		thread = fmt.Sprintf("❌ **%s** rejected %s (by %s)%s\n%s: hotfix %d is rejected; `/incident hotfix <description>` requests a new fix.",
			group, stage, who, withReason(ev.Text), strings.Join(tell, ", "), h.N)
		broadcast = fmt.Sprintf(":x: Hotfix %d for %s rejected in %s by %s (%s)%s · %s",
			h.N, head, stage, who, group, why, n.channel)
	case incident.EventHotfixStageDone:
		if hotfix.Stage(ev.Data[incident.DataStage]) == hotfix.StageStaging {
			thread = fmt.Sprintf("Staging signed off by every group: %s, deploy hotfix %d and press **Deployed** on the sign-off post.",
				releaseManager(h, n.mention), h.N)
			return thread, ""
		}
		thread = fmt.Sprintf(":white_check_mark: Hotfix %d is signed off after deploy.", h.N)
		broadcast = fmt.Sprintf(":white_check_mark: Hotfix %d for %s is deployed and signed off · %s", h.N, head, n.channel)
	case incident.EventHotfixDeployed:
		thread = fmt.Sprintf(":rocket: Deployed by %s: please verify after deploy and sign off: %s",
			who, groupMembers(h, groups, n.mention))
		broadcast = fmt.Sprintf(":rocket: Hotfix %d for %s deployed by %s, after-deploy sign-off under way · %s", h.N, head, who, n.channel)
	case incident.EventHotfixCancelled:
		thread = fmt.Sprintf("⏹ Hotfix %d cancelled by %s%s", h.N, who, withReason(ev.Text))
		broadcast = fmt.Sprintf(":no_entry_sign: Hotfix %d for %s cancelled by %s%s · %s", h.N, head, who, why, n.channel)
	}
	return thread, broadcast
}

// freezeMessage announces a freeze's start (f the new state) or end (f
// the state before, with Until set).
func freezeMessage(f *app.Freeze, started bool) string {
	if !started {
		return fmt.Sprintf(":sunny: **Release freeze ended** at %s: no %s incident is open any more. It lasted %s.",
			formatTime(f.Until), app.FreezeSeverity, incident.FormatDuration(incident.Elapsed(f.Since, f.Until)))
	}
	refs := make([]string, len(f.Incidents))
	for i, id := range f.Incidents {
		refs[i] = "#" + id
	}
	held := fmt.Sprintf("%s incident %s is", app.FreezeSeverity, strings.Join(refs, ", "))
	if len(refs) != 1 {
		held = fmt.Sprintf("%s incidents %s are", app.FreezeSeverity, strings.Join(refs, ", "))
	}
	return fmt.Sprintf(":ice_cube: **Release freeze** from %s: %s open. Releases other than their hotfixes are frozen until they are resolved or downgraded. `/incident freeze` shows the state.",
		formatTime(f.Since), held)
}
