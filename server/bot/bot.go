package bot

import (
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
)

// Bot posts and manages channels as the plugin's bot account.
type Bot struct {
	api      plugin.API
	pluginID string
	userID   string
}

var (
	_ app.Chat      = (*Bot)(nil)
	_ app.Notifier  = (*Bot)(nil)
	_ app.Access    = (*Bot)(nil)
	_ app.Directory = (*Bot)(nil)
)

// New returns a Bot acting as userID (the bot account) for plugin pluginID.
func New(api plugin.API, pluginID, userID string) *Bot {
	return &Bot{api: api, pluginID: pluginID, userID: userID}
}

// UserID is the bot account's user id.
func (b *Bot) UserID() string { return b.userID }

// post creates a post as the bot.
func (b *Bot) post(channelID, message string, props model.StringInterface) (*model.Post, error) {
	p := &model.Post{UserId: b.userID, ChannelId: channelID, Message: message}
	for k, v := range props {
		p.AddProp(k, v)
	}
	created, appErr := b.api.CreatePost(p)
	if appErr != nil {
		return nil, appErr
	}
	return created, nil
}

// Mention renders a user as @username for messages.
func (b *Bot) Mention(userID string) string { return b.mention(userID) }

// mention renders a user as @username, or a neutral placeholder when the
// user cannot be looked up (deleted, or the system actor).
func (b *Bot) mention(userID string) string {
	if userID == "" || userID == "system" {
		return "the bot"
	}
	u, appErr := b.api.GetUser(userID)
	if appErr != nil {
		return "a former user"
	}
	return "@" + u.Username
}
