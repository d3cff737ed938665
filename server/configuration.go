package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// configuration is the plugin's System Console settings. A value is never
// mutated after it is published; changes build a new one and swap it in.
type configuration struct {
	BroadcastChannelID string
	PrivateChannels    bool
	DefaultSeverity    string
	LogLevel           string
}

// SetDefaults fills unset fields.
func (c *configuration) SetDefaults() {
	c.BroadcastChannelID = strings.TrimSpace(c.BroadcastChannelID)
	if c.DefaultSeverity == "" {
		c.DefaultSeverity = incident.DefaultSeverity.String()
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
}

// IsValid checks every field; channelExists may be nil to skip the lookup.
func (c *configuration) IsValid(channelExists func(id string) bool) error {
	var errs []error
	if id := c.BroadcastChannelID; id != "" {
		if !model.IsValidId(id) {
			errs = append(errs, fmt.Errorf("setting \"Broadcast channel ID\": %q is not a channel ID: open the channel, choose View Info, and copy its 26-character ID", id))
		} else if channelExists != nil && !channelExists(id) {
			errs = append(errs, fmt.Errorf("setting \"Broadcast channel ID\": %q does not name an existing channel", id))
		}
	}
	if _, err := incident.ParseSeverity(c.DefaultSeverity); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Default severity\": %s", incident.UserMessage(err)))
	}
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil || c.LogLevel == "" {
		errs = append(errs, fmt.Errorf("setting \"Log level\": %q: use debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

func (c *configuration) severity() incident.Severity {
	s, err := incident.ParseSeverity(c.DefaultSeverity)
	if err != nil {
		return incident.DefaultSeverity
	}
	return s
}

func (c *configuration) appSettings() app.Settings {
	return app.Settings{BroadcastChannelID: c.BroadcastChannelID, PrivateChannels: c.PrivateChannels}
}

func (p *Plugin) getConfiguration() *configuration {
	if c := p.config.Load(); c != nil {
		return c
	}
	c := &configuration{}
	c.SetDefaults()
	return c
}

func (p *Plugin) channelExists(id string) bool {
	_, appErr := p.API.GetChannel(id)
	return appErr == nil
}

// loadConfiguration reads, defaults and validates the saved settings.
func loadConfiguration(api plugin.API, channelExists func(string) bool) (*configuration, error) {
	c := &configuration{}
	if err := api.LoadPluginConfiguration(c); err != nil {
		return nil, fmt.Errorf("load plugin configuration: %w", err)
	}
	c.SetDefaults()
	return c, c.IsValid(channelExists)
}

// OnConfigurationChange swaps in a new valid configuration. It also runs
// once before OnActivate. On servers older than 8.0 nothing stops an admin
// saving bad values, so an invalid configuration is refused here: the last
// valid one stays in force, and the error is logged and sent to admins.
func (p *Plugin) OnConfigurationChange() error {
	c, err := loadConfiguration(p.API, p.channelExists)
	if err != nil {
		msg := "Incident bot: the new settings were not applied, the previous ones stay in force: " + err.Error()
		p.API.LogError(msg)
		p.tellAdmins(msg)
		return err
	}
	p.config.Store(c)
	level, _ := zerolog.ParseLevel(c.LogLevel)
	zerolog.SetGlobalLevel(level)
	return nil
}

// ConfigurationWillBeSaved rejects invalid settings in the System Console
// (servers 8.0 and later call it).
func (p *Plugin) ConfigurationWillBeSaved(newCfg *model.Config) (*model.Config, error) {
	raw, ok := newCfg.PluginSettings.Plugins[manifestID]
	if !ok {
		return nil, nil
	}
	c := &configuration{}
	if err := remarshal(raw, c); err != nil {
		return nil, fmt.Errorf("read incident bot settings: %w", err)
	}
	c.SetDefaults()
	if err := c.IsValid(p.channelExists); err != nil {
		return nil, err
	}
	return nil, nil
}
