package bot

import (
	"context"
	"fmt"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Bot posts and manages channels as the plugin's bot account.
type Bot struct {
	api      plugin.API
	pluginID string
	userID   string
	groups   *groupSync // nil until EnableGroupSync; see groups.go
	slow     *gate      // the slow calls of background work, a few at a time
	names    nameCache  // channels and teams, remembered a while
	keys     postKeys   // the once keys of the posts this process made
	// SiteURL returns the server's configured site URL, for links to the
	// plugin's pages; nil or "": links from the server's root.
	SiteURL func() string
}

var (
	_ app.Chat      = (*Bot)(nil)
	_ app.Notifier  = (*Bot)(nil)
	_ app.Access    = (*Bot)(nil)
	_ app.Directory = (*Bot)(nil)
)

// New returns a Bot acting as userID (the bot account) for plugin pluginID.
func New(api plugin.API, pluginID, userID string) *Bot {
	return &Bot{api: api, pluginID: pluginID, userID: userID, slow: newGate(slowCalls)}
}

// UserID is the bot account's user id.
func (b *Bot) UserID() string { return b.userID }

// post creates a post as the bot; see create.
func (b *Bot) post(ctx context.Context, channelID, message string, props model.StringInterface) (*model.Post, error) {
	p := &model.Post{UserId: b.userID, ChannelId: channelID, Message: message}
	for k, v := range props {
		p.AddProp(k, v)
	}
	return b.create(ctx, p)
}

// PropOnce carries a post's idempotency key (see work.Once).
const PropOnce = "incident_once"

// create makes every post of the bot. Inside a follow-up step of the app
// the post carries the step's idempotency key, and a retried step first
// looks in the channel for a post with that key from an earlier attempt,
// which it returns instead of posting again. The look reads the posts made
// in the channel since the step's follow-up began, which on a retry is a
// short window.
func (b *Bot) create(ctx context.Context, p *model.Post) (*model.Post, error) {
	// A page's notice stops as soon as the page is answered or closed.
	if err := work.Fence(ctx); err != nil {
		return nil, err
	}
	key, retry, since, ok := work.Once(ctx, p.ChannelId)
	if ok {
		p.AddProp(PropOnce, key)
		if retry {
			list, appErr := b.api.GetPostsSince(p.ChannelId, since.UnixMilli())
			if appErr != nil {
				return nil, fmt.Errorf("look for an earlier post in channel %s: %w", p.ChannelId, appErr)
			}
			for _, id := range list.Order {
				if old := list.Posts[id]; old != nil && old.UserId == b.userID && old.DeleteAt == 0 && old.GetProp(PropOnce) == key {
					return old, nil
				}
			}
		}
	}
	leave, err := b.slow.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	created, appErr := b.api.CreatePost(p)
	if appErr != nil {
		return nil, appErr
	}
	b.keys.put(created.Id, key)
	return created, nil
}

// Mention renders a user as @username for messages.
func (b *Bot) Mention(userID string) string { return b.mention(userID) }

// isBot reports whether an actor is the bot: the system actor of the
// events it causes on its own, or its own account (which opens incidents
// from alerts). Every place shows it as incident.BotName.
func (b *Bot) isBot(userID string) bool {
	return userID == incident.ActorSystem || userID != "" && userID == b.userID
}

// mention renders a user as @username, the bot as incident.BotName (also
// for no actor), or a neutral placeholder when the user cannot be looked
// up (deleted).
func (b *Bot) mention(userID string) string {
	if userID == "" || b.isBot(userID) {
		return incident.BotName
	}
	name, ok := b.Username(userID)
	if !ok {
		return "a former user"
	}
	return "@" + name
}

// update replaces a post of the bot with p. An update replaces all props,
// so the post's idempotency key (see create) is carried over from the
// stored post: a retried step must still recognise it.
func (b *Bot) update(ctx context.Context, p *model.Post) (*model.Post, *model.AppError) {
	if p.GetProp(PropOnce) == nil {
		if key, ok := b.keys.get(p.Id); ok {
			if key != "" {
				p.AddProp(PropOnce, key)
			}
		} else if old, appErr := b.api.GetPost(p.Id); appErr == nil {
			if key := old.GetProp(PropOnce); key != nil {
				p.AddProp(PropOnce, key)
			}
		}
	}
	leave, err := b.slow.enter(ctx)
	if err != nil {
		return nil, model.NewAppError("UpdatePost", "incident_bot.slow_calls", nil, err.Error(), 503)
	}
	defer leave()
	return b.api.UpdatePost(p)
}
