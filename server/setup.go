package main

import (
	"fmt"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/bot"
)

// setupPort is what /incident setup needs of the server: the bot's dialogs
// and posts, and the plugin's settings.
type setupPort struct {
	*bot.Bot
	p *Plugin
}

// SaveSettings sets keys of the plugin's settings. The server keeps the
// keys lower-cased; a key spelled otherwise is replaced, so that the
// settings never hold two spellings of one key.
func (s setupPort) SaveSettings(patch map[string]any) error {
	cfg := s.p.API.GetPluginConfig()
	if cfg == nil {
		cfg = map[string]any{}
	}
	for k, v := range patch {
		for old := range cfg {
			if strings.EqualFold(old, k) {
				delete(cfg, old)
			}
		}
		cfg[strings.ToLower(k)] = v
	}
	if appErr := s.p.API.SavePluginConfig(cfg); appErr != nil {
		return fmt.Errorf("save plugin settings: %w", appErr)
	}
	return nil
}

// UseChannel accepts a team channel, public or private, and makes the bot
// a member of a private one (it needs no membership to post in a public
// channel).
func (s setupPort) UseChannel(channelID string) error {
	ch, appErr := s.p.API.GetChannel(channelID)
	if appErr != nil || ch.DeleteAt != 0 {
		return fmt.Errorf("that channel does not exist (any more); choose another")
	}
	if ch.Type != model.ChannelTypeOpen && ch.Type != model.ChannelTypePrivate {
		return fmt.Errorf("~%s is a direct or group message; choose a team channel", ch.Name)
	}
	if ch.Type == model.ChannelTypeOpen {
		return nil // the bot posts in public channels without joining
	}
	if _, appErr := s.p.API.CreateTeamMember(ch.TeamId, s.UserID()); appErr != nil {
		return fmt.Errorf("the bot cannot join the team of ~%s: %s", ch.Name, appErr.Message)
	}
	if _, appErr := s.p.API.AddChannelMember(channelID, s.UserID()); appErr != nil {
		return fmt.Errorf("the bot cannot join ~%s: %s", ch.Name, appErr.Message)
	}
	return nil
}
