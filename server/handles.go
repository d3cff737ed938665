package main

import (
	"context"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/incidentbot/mattermost-incident-bot/server/alias"
	"github.com/incidentbot/mattermost-incident-bot/server/app"
)

// handleTimeout bounds the work one post's handles cause (answer, pages).
const handleTimeout = 30 * time.Second

// MessageHasBeenPosted answers on-duty handles ("@release-manager") in new
// posts, and previews incident archives sent to the bot. It runs for every post on the server, so a post without a handle
// costs a scan of its text and nothing else: no store call, no server
// call. Edits never come here (the server has another hook for them,
// which this plugin does not implement), nor do the bot's, other bots',
// webhooks' or system posts.
func (p *Plugin) MessageHasBeenPosted(_ *plugin.Context, post *model.Post) {
	if p.core == nil || p.bot == nil {
		return
	}
	if len(post.FileIds) > 0 && post.UserId != p.bot.UserID() && !post.IsSystemMessage() && p.archives.IsBotDM(post) {
		// A file sent to the bot is an incident archive to import.
		p.archives.PreviewImport(post)
		return
	}
	uses := handleUses(post, p.bot.UserID(), p.getConfiguration().handles)
	if len(uses) == 0 {
		return
	}
	if u, appErr := p.API.GetUser(post.UserId); appErr != nil || u.IsBot {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), handleTimeout)
	defer cancel()
	if err := p.core.AnswerHandles(ctx, app.HandlePost{PostID: post.Id, ChannelID: post.ChannelId, RootID: post.RootId, UserID: post.UserId, Uses: uses}); err != nil {
		p.log.Error().Err(err).Str("post", post.Id).Str("channel", post.ChannelId).Msg("answer on-duty handles")
	}
}

// handleUses returns the configured handles post uses (and those that may
// be the handles of rotas other than the first, which the app checks), or none for a post
// that must not be answered: one by the bot, a bot, a webhook, a plugin,
// the system or another server. It looks at the post alone.
func handleUses(post *model.Post, botID string, handles alias.Handles) []alias.Use {
	if post == nil || !strings.Contains(post.Message, "@") {
		return nil
	}
	if post.UserId == botID || post.IsSystemMessage() || post.IsRemote() || post.GetProp(model.PostPropsFromBot) != nil ||
		post.GetProp(model.PostPropsFromWebhook) != nil || post.GetProp(model.PostPropsFromPlugin) != nil {
		return nil
	}
	var known []alias.Use
	for _, u := range alias.Find(post.Message) {
		if _, ok := handles.Resolve(u.Name); ok || handles.MaybeRota(u.Name) {
			known = append(known, u)
		}
	}
	return known
}
