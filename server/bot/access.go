package bot

import (
	"context"

	"github.com/mattermost/mattermost/server/public/model"
)

// CanAccessChannel reports whether userID may read channelID: as a member,
// or, for a public channel, as a member of its team.
func (b *Bot) CanAccessChannel(_ context.Context, userID, channelID string) bool {
	if userID == "" || channelID == "" {
		return false
	}
	if b.api.HasPermissionToChannel(userID, channelID, model.PermissionReadChannel) {
		return true
	}
	ch, appErr := b.api.GetChannel(channelID)
	if appErr != nil || ch.Type != model.ChannelTypeOpen {
		return false
	}
	return b.api.HasPermissionToTeam(userID, ch.TeamId, model.PermissionReadPublicChannel)
}

// CanReadTeam reports whether userID may read teamID's public channels.
func (b *Bot) CanReadTeam(_ context.Context, userID, teamID string) bool {
	return userID != "" && teamID != "" && b.api.HasPermissionToTeam(userID, teamID, model.PermissionReadPublicChannel)
}

// IsSystemAdmin reports whether userID may manage the system.
func (b *Bot) IsSystemAdmin(_ context.Context, userID string) bool {
	return userID != "" && b.api.HasPermissionTo(userID, model.PermissionManageSystem)
}

// IsActiveUser reports whether userID exists and is not deactivated.
func (b *Bot) IsActiveUser(_ context.Context, userID string) bool {
	if userID == "" {
		return false
	}
	u, appErr := b.api.GetUser(userID)
	return appErr == nil && u.DeleteAt == 0
}
