package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/web"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

func formatTime(t time.Time) string { return t.UTC().Format(wire.TimeLayout) }

var severityColor = map[incident.Severity]string{
	incident.S1: "#d0021b", incident.S2: "#f5a623", incident.S3: "#f8c51c", incident.S4: "#4a90e2",
}

const resolvedColor = "#3db887"

// cardPost renders inc's card as a post by the bot in the incident channel.
func (b *Bot) cardPost(inc *incident.Incident) *model.Post {
	p := &model.Post{UserId: b.userID, ChannelId: inc.ChannelID, Id: inc.CardPostID}
	p.AddProp(wire.PropIncidentID, inc.ID)
	p.AddProp(wire.PropCard, true)
	// The key the card was posted under (see create and the card step's
	// scope): a re-render keeps it without reading the post first.
	p.AddProp(PropOnce, inc.ID+"/card/"+inc.ChannelID+"/1")
	p.AddProp("attachments", []*model.MessageAttachment{b.cardAttachment(inc)})
	return p
}

func (b *Bot) cardAttachment(inc *incident.Incident) *model.MessageAttachment {
	color := severityColor[inc.Severity]
	if inc.Status == incident.StatusResolved {
		color = resolvedColor
	}
	fields := []*model.MessageAttachmentField{
		{Title: "Severity", Value: fmt.Sprintf("%s (%s)", inc.Severity, inc.Severity.Label()), Short: true},
		{Title: "Status", Value: inc.Status.Label(), Short: true},
		{Title: "Started", Value: formatTime(inc.CreatedAt) + " by " + b.mention(inc.CreatedBy), Short: true},
	}
	if !inc.MitigatedAt.IsZero() {
		fields = append(fields, &model.MessageAttachmentField{Title: "Mitigated", Value: formatTime(inc.MitigatedAt), Short: true})
	}
	if !inc.ResolvedAt.IsZero() {
		fields = append(fields, &model.MessageAttachmentField{Title: "Resolved", Value: formatTime(inc.ResolvedAt), Short: true})
	}
	if !inc.LastUpdateAt.IsZero() {
		fields = append(fields, &model.MessageAttachmentField{Title: "Last update", Value: formatTime(inc.LastUpdateAt), Short: true})
	}
	if rb := inc.Runbook; rb != nil {
		fields = append(fields, &model.MessageAttachmentField{Title: "Runbook",
			Value: fmt.Sprintf("%s (v%d): %d of %d steps", rb.Name, rb.Version, rb.Closed, rb.Total), Short: true})
	}
	if inc.Rota != "" && inc.Rota != incident.FirstRota {
		fields = append(fields, &model.MessageAttachmentField{Title: "Rota", Value: "`" + inc.Rota + "`", Short: true})
	}
	fields = append(fields, &model.MessageAttachmentField{Title: "Roles", Value: b.rolesText(inc)})
	if inc.Resolution != "" {
		fields = append(fields, &model.MessageAttachmentField{Title: "Resolution", Value: Sanitize(inc.Resolution)})
	}
	return &model.MessageAttachment{
		Fallback: fmt.Sprintf("Incident %s: %s (%s, %s)", inc.ShortRef(), Sanitize(inc.Title), inc.Severity, inc.Status.Label()),
		Color:    color,
		Title:    fmt.Sprintf("Incident %s: %s", inc.ShortRef(), Inline(inc.Title)),
		// The incident's page: its facts, roles, timeline and postmortem
		// (it shows them only to those who may read the channel).
		TitleLink: b.PageURL(web.IncidentPath(inc.ID)),
		Text:      Sanitize(inc.Summary),
		Fields:    fields,
		Actions:   b.cardActions(inc),
		Footer:    "/incident help lists every command",
	}
}

func (b *Bot) rolesText(inc *incident.Incident) string {
	var lines []string
	for _, r := range incident.Roles {
		line := r.Title() + ": **open**, nobody available: use Take role or `/incident role " + string(r) + " @someone`"
		if u := inc.Roles[r]; u != "" {
			line = r.Title() + ": " + b.mention(u)
			if n := inc.RoleNotes[r]; n != "" {
				line += " (" + b.Render(n) + ")"
			}
		}
		if h, ok := inc.Handovers[r]; ok {
			line += " → handover to " + b.mention(h.To) + " awaiting acceptance"
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// cardActions offers the next sensible steps for the incident's status.
func (b *Bot) cardActions(inc *incident.Incident) []*model.PostAction {
	var acts []*model.PostAction
	add := func(name, label, style string) {
		acts = append(acts, &model.PostAction{Id: name, Type: model.PostActionTypeButton, Name: label, Style: style,
			Integration: b.integration(name, inc.ID)})
	}
	if inc.Status.Active() {
		add(wire.ActionUpdate, "Post update", "primary")
	}
	if inc.Status == incident.StatusOpen {
		add(wire.ActionMitigate, "Mitigate", "warning")
	}
	if inc.Status.Active() {
		for _, r := range incident.Roles {
			if inc.Roles[r] == "" {
				add(wire.ActionTakePrefix+string(r), "Take role: "+r.Title(), "default")
			}
		}
		add(wire.ActionHotfix, "Request hotfix", "default")
		add(wire.ActionResolve, "Resolve", "good")
		opts := make([]*model.PostActionOptions, 0, len(incident.Severities))
		for _, s := range incident.Severities {
			opts = append(opts, &model.PostActionOptions{Text: fmt.Sprintf("%s (%s)", s, s.Label()), Value: s.String()})
		}
		acts = append(acts, &model.PostAction{Id: wire.ActionSeverity, Type: model.PostActionTypeSelect, Name: "Change severity",
			Options: opts, DefaultOption: inc.Severity.String(), Integration: b.integration(wire.ActionSeverity, inc.ID)})
	} else {
		add(wire.ActionReopen, "Reopen", "default")
	}
	return acts
}

func (b *Bot) integration(action, incidentID string) *model.PostActionIntegration {
	return &model.PostActionIntegration{
		URL:     "/plugins/" + b.pluginID + wire.ActionsPath + action,
		Context: map[string]any{wire.ContextIncidentID: incidentID},
	}
}
