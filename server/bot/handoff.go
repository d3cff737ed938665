package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

var _ app.Handoffs = (*Bot)(nil)

// handoffLayout shows handoff instants in the rota's own time zone, e.g.
// "Mon 2026-11-23 09:00 CET": people read the handoff where they work.
const handoffLayout = "Mon 2006-01-02 15:04 MST"

// Colours of the acknowledgement attachment: waiting for someone, or done.
const (
	handoffPendingColor = "#f5a623"
	handoffDoneColor    = resolvedColor
)

// PostHandoff posts the handoff announcement in the rota channel. Holders
// who are not members of the channel are added first (best effort):
// Mattermost does not notify a mentioned user who is not in the channel,
// and the incoming people must be told.
func (b *Bot) PostHandoff(ctx context.Context, h *app.Handoff) (string, error) {
	for _, u := range h.People() {
		if _, appErr := b.api.GetChannelMember(h.ChannelID, u); appErr != nil {
			// Fails for someone outside the team; they are mentioned all
			// the same.
			_, _ = b.api.AddChannelMember(h.ChannelID, u)
		}
	}
	created, appErr := b.create(ctx, handoffPost(h, b.userID, b.pluginID, b.mention))
	if appErr != nil {
		return "", fmt.Errorf("post rota handoff %s in channel %s: %w", h.Key, h.ChannelID, appErr)
	}
	return created.Id, nil
}

// UpdateHandoff re-renders the handoff post to show who has acknowledged.
// Mattermost does not notify anyone again when a post is edited.
func (b *Bot) UpdateHandoff(ctx context.Context, h *app.Handoff) error {
	if h.PostID == "" {
		return nil
	}
	p := handoffPost(h, b.userID, b.pluginID, b.mention)
	p.Id = h.PostID
	if _, appErr := b.update(ctx, p); appErr != nil {
		return fmt.Errorf("update rota handoff post %s: %w", h.PostID, appErr)
	}
	return nil
}

// handoffPost renders h as a post by botID; mention names a user
// ("@alice"). The message mentions every holder, so they are notified when
// it is posted; the attachment shows the acknowledgements and the button.
func handoffPost(h *app.Handoff, botID, pluginID string, mention func(userID string) string) *model.Post {
	p := &model.Post{UserId: botID, ChannelId: h.ChannelID, Message: Sanitize(handoffMessage(h, mention))}
	p.AddProp(wire.PropHandoffKey, h.Key)
	p.AddProp("attachments", []*model.MessageAttachment{handoffAttachment(h, pluginID, mention)})
	return p
}

// HandoffTitle is the first line of a handoff post, e.g. "Rota handoff:
// week of Mon 2026-11-23 09:00 CET".
func HandoffTitle(h *app.Handoff) string {
	if h.Rota != "" && h.Rota != incident.FirstRota {
		return "Rota " + h.Rota + " handoff: week of " + HandoffWeek(h)
	}
	return "Rota handoff: week of " + HandoffWeek(h)
}

// HandoffWeek is the handoff instant in the rota's time zone, e.g. "Mon
// 2026-11-23 09:00 CET".
func HandoffWeek(h *app.Handoff) string { return h.Week.In(h.Location()).Format(handoffLayout) }

func handoffMessage(h *app.Handoff, mention func(string) string) string {
	var b strings.Builder
	b.WriteString("#### :calendar: " + HandoffTitle(h) + "\n")
	if h.End.IsZero() {
		b.WriteString("On duty:\n")
	} else {
		b.WriteString("On duty until " + h.End.In(h.Location()).Format(handoffLayout) + ":\n")
	}
	for _, role := range incident.Roles {
		holder := ":warning: **open**: nobody in the rota is available"
		if u := h.Holders[role]; u != "" {
			holder = mention(u)
		}
		fmt.Fprintf(&b, "- **%s**: %s\n", role.Title(), holder)
	}
	for _, s := range h.Substitutions {
		b.WriteString(":information_source: " + rota.RenderUsers(s.String(), mention) + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func handoffAttachment(h *app.Handoff, pluginID string, mention func(string) string) *model.MessageAttachment {
	loc := h.Location()
	var lines []string
	for _, u := range h.People() {
		at, ok := h.Acks[u]
		if !ok {
			lines = append(lines, "⏳ "+mention(u)+" not yet")
			continue
		}
		layout := "15:04"
		if y, m, d := at.In(loc).Date(); !sameDay(h.Week.In(loc), y, m, d) {
			layout = "Mon 15:04"
		}
		lines = append(lines, "✅ "+mention(u)+" acknowledged "+at.In(loc).Format(layout))
	}
	att := &model.MessageAttachment{
		Fallback: HandoffTitle(h),
		Color:    handoffPendingColor,
		Title:    "Acknowledgements",
		Text:     Sanitize(strings.Join(lines, "\n")),
	}
	if h.AllAcknowledged() {
		att.Color = handoffDoneColor
		return att // nobody left who may acknowledge: no button
	}
	att.Actions = []*model.PostAction{{
		Id: wire.ActionAckHandoff, Type: model.PostActionTypeButton, Name: "Acknowledge", Style: "primary",
		Integration: &model.PostActionIntegration{
			URL:     "/plugins/" + pluginID + wire.ActionsPath + wire.ActionAckHandoff,
			Context: map[string]any{wire.ContextHandoffKey: h.Key},
		},
	}}
	return att
}

func sameDay(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == m && td == d
}
