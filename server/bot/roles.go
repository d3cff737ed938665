package bot

import (
	"context"
	"fmt"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// Render replaces the domain's "<@id>" user references with @usernames.
func (b *Bot) Render(text string) string { return rota.RenderUsers(text, b.mention) }

// PostHandover asks the new holder to accept a role, with a button.
func (b *Bot) PostHandover(ctx context.Context, inc *incident.Incident, role incident.Role) (string, error) {
	h := inc.Handovers[role]
	p := &model.Post{UserId: b.userID, ChannelId: inc.ChannelID,
		Message: fmt.Sprintf(":handshake: %s, %s asks you to take over **%s** from %s. Until you accept, %s stays responsible.",
			b.mention(h.To), b.mention(h.By), role.Title(), b.mention(inc.Roles[role]), b.mention(inc.Roles[role]))}
	p.AddProp(wire.PropIncidentID, inc.ID)
	p.AddProp(wire.PropHandoverRole, string(role))
	p.AddProp("attachments", []*model.MessageAttachment{{
		Actions: []*model.PostAction{{Id: wire.ActionAcceptPrefix + string(role), Type: model.PostActionTypeButton, Name: "I have it", Style: "primary",
			Integration: b.integration(wire.ActionAcceptPrefix+string(role), inc.ID)}},
	}})
	created, appErr := b.create(ctx, p)
	if appErr != nil {
		return "", fmt.Errorf("post handover of %s: %w", role, appErr)
	}
	return created.Id, nil
}

// CloseHandover shows the handover as accepted and removes its button.
func (b *Bot) CloseHandover(ctx context.Context, inc *incident.Incident, role incident.Role, postID, acceptedBy string) error {
	p, appErr := b.api.GetPost(postID)
	if appErr != nil {
		return fmt.Errorf("get handover post: %w", appErr)
	}
	p.Message = fmt.Sprintf(":white_check_mark: %s took over **%s**.", b.mention(acceptedBy), role.Title())
	p.AddProp("attachments", []*model.MessageAttachment{})
	if _, appErr := b.update(ctx, p); appErr != nil {
		return fmt.Errorf("close handover post: %w", appErr)
	}
	return nil
}
