package bot

import (
	"context"
	"fmt"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/postmortem"
	"github.com/incidentbot/mattermost-incident-bot/server/web"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// QuietName shows a user as @name without notifying them: postmortems
// name everyone involved, and nobody should be pinged by reading history.
func (b *Bot) QuietName(userID string) string {
	if b.isBot(userID) {
		return incident.BotName
	}
	name, ok := b.Username(userID)
	if !ok {
		return "a former user"
	}
	return mention.Quiet(name)
}

// PublishPostmortem posts the parts in each channel, in order, and attaches
// the whole Markdown to the last part as postmortem-<id>.md. A file must be
// uploaded per channel: an upload belongs to the channel it was made in.
func (b *Bot) PublishPostmortem(ctx context.Context, inc *incident.Incident, parts []string, markdown string, channelIDs []string) error {
	name := fmt.Sprintf("postmortem-%s.md", inc.ID)
	for _, ch := range channelIDs {
		var fileIDs model.StringArray
		if markdown != "" { // "": parts only (a redacted stub)
			info, appErr := b.api.UploadFile([]byte(markdown), ch, name)
			if appErr != nil {
				return fmt.Errorf("upload %s: %w", name, appErr)
			}
			fileIDs = append(fileIDs, info.Id)
		}
		for i, part := range parts {
			if i == len(parts)-1 {
				// The incident's page, with the postmortem as HTML, its
				// charts and the Markdown to download.
				if link := "\n\n[Incident page](" + b.PageURL(web.IncidentPath(inc.ID)) + ")"; len(part)+len(link) <= postmortem.PostLimit {
					part += link
				}
			}
			p := &model.Post{UserId: b.userID, ChannelId: ch, Message: part}
			p.AddProp(wire.PropIncidentID, inc.ID)
			p.AddProp("postmortem_part", fmt.Sprintf("%d/%d", i+1, len(parts)))
			if i == len(parts)-1 {
				p.FileIds = fileIDs
			}
			if _, appErr := b.create(ctx, p); appErr != nil {
				return fmt.Errorf("post postmortem part %d: %w", i+1, appErr)
			}
		}
	}
	return nil
}
