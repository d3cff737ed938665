package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// configuration is the plugin's System Console settings. A value is never
// mutated after it is published; changes build a new one and swap it in.
type configuration struct {
	BroadcastChannelID string
	PrivateChannels    bool
	DefaultSeverity    string
	LogLevel           string
	// RotaAdmins lists usernames (comma or space separated, @ optional)
	// who may edit the rota besides system admins.
	RotaAdmins string
	// RolePriority orders the roles for exclusive assignment, e.g.
	// "im,l1,l2,l3,rm": a person on duty for two roles keeps the earlier.
	RolePriority string
	// CombinableRoles lists role pairs one person may hold together, e.g.
	// "l2+l3, l3+rm". IM with any line role is never allowed.
	CombinableRoles string
	// EscalationTimeouts: time to wait for an acknowledgement at each level,
	// per severity, e.g. "S1=5m, S2=10m, S3=30m, S4=off".
	EscalationTimeouts string
	// RenotifyInterval: how often an unacknowledged page notifies again.
	RenotifyInterval string
	// AnyRotaMemberMayAck: any rota member may acknowledge a page.
	AnyRotaMemberMayAck bool
	// UpdateCadence: how often the IM owes a status update, per severity.
	UpdateCadence string
	// PostmortemChannelID also receives every postmortem.
	PostmortemChannelID string
	// DisplayTimeZone is the IANA zone postmortems show beside UTC.
	DisplayTimeZone string
	// AlertmanagerToken and GrafanaToken authenticate alert webhooks, one
	// secret per source; empty disables that source.
	AlertmanagerToken string
	GrafanaToken      string
	// AlertTeamName is the team (URL name) whose incidents alerts open;
	// empty means the broadcast channel's team.
	AlertTeamName string
	// AlertSeverityLabel names the alert label mapped to a severity by
	// AlertSeverityMap ("critical=S1, high=S2, ...").
	AlertSeverityLabel string
	AlertSeverityMap   string
	// HotfixSignoffGroups names the sign-off groups every hotfix needs, in
	// order ("product, qa, support"); the groups' members are set with
	// /incident signoff-group.
	HotfixSignoffGroups string

	// Resolved by load: the parsed policy and the rota admins' user ids.
	policy       rota.Policy
	rotaAdminIDs []string
	ackTimeout   map[incident.Severity]time.Duration
	renotify     time.Duration
	cadence      map[incident.Severity]time.Duration
	location     *time.Location
	severityMap  alert.SeverityMap
	hotfixGroups []string
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
	if strings.TrimSpace(c.RolePriority) == "" {
		c.RolePriority = "im,l1,l2,l3,rm"
	}
	if strings.TrimSpace(c.EscalationTimeouts) == "" {
		c.EscalationTimeouts = "S1=5m, S2=10m, S3=30m, S4=off"
	}
	if strings.TrimSpace(c.RenotifyInterval) == "" {
		c.RenotifyInterval = "2m"
	}
	c.PostmortemChannelID = strings.TrimSpace(c.PostmortemChannelID)
	if c.DisplayTimeZone = strings.TrimSpace(c.DisplayTimeZone); c.DisplayTimeZone == "" {
		c.DisplayTimeZone = "UTC"
	}
	if strings.TrimSpace(c.UpdateCadence) == "" {
		c.UpdateCadence = "S1=30m, S2=1h, S3=4h, S4=off"
	}
	c.AlertmanagerToken = strings.TrimSpace(c.AlertmanagerToken)
	c.GrafanaToken = strings.TrimSpace(c.GrafanaToken)
	c.AlertTeamName = strings.ToLower(strings.TrimSpace(c.AlertTeamName))
	if c.AlertSeverityLabel = strings.TrimSpace(c.AlertSeverityLabel); c.AlertSeverityLabel == "" {
		c.AlertSeverityLabel = "severity"
	}
	if strings.TrimSpace(c.AlertSeverityMap) == "" {
		c.AlertSeverityMap = alert.DefaultSeverityMap
	}
}

// IsValid checks every field and resolves the derived ones; channelExists
// and userID may be nil to skip lookups.
func (c *configuration) IsValid(channelExists func(id string) bool, userID func(username string) (string, bool)) error {
	var errs []error
	policy, err := parsePolicy(c.RolePriority, c.CombinableRoles)
	if err != nil {
		errs = append(errs, err)
	}
	c.policy = policy
	if c.ackTimeout, err = perSeverity("Escalation timeouts", c.EscalationTimeouts); err != nil {
		errs = append(errs, err)
	}
	if c.cadence, err = perSeverity("Status update cadence", c.UpdateCadence); err != nil {
		errs = append(errs, err)
	}
	if c.renotify, err = duration("Re-notify interval", c.RenotifyInterval); err != nil {
		errs = append(errs, err)
	}
	if c.location, err = time.LoadLocation(c.DisplayTimeZone); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Display time zone\": %q is not a time zone such as Europe/Berlin", c.DisplayTimeZone))
		c.location = time.UTC
	}
	if id := c.PostmortemChannelID; id != "" {
		if !model.IsValidId(id) {
			errs = append(errs, fmt.Errorf("setting \"Postmortems channel ID\": %q is not a channel ID", id))
		} else if channelExists != nil && !channelExists(id) {
			errs = append(errs, fmt.Errorf("setting \"Postmortems channel ID\": %q does not name an existing channel", id))
		}
	}
	c.rotaAdminIDs = nil
	for _, name := range splitList(c.RotaAdmins) {
		name = strings.TrimPrefix(name, "@")
		if userID == nil {
			continue
		}
		id, ok := userID(name)
		if !ok {
			errs = append(errs, fmt.Errorf("setting \"Rota admins\": no user @%s", name))
			continue
		}
		c.rotaAdminIDs = append(c.rotaAdminIDs, id)
	}
	if id := c.BroadcastChannelID; id != "" {
		if !model.IsValidId(id) {
			errs = append(errs, fmt.Errorf("setting \"Broadcast channel ID\": %q is not a channel ID: open the channel, choose View Info, and copy its 26-character ID", id))
		} else if channelExists != nil && !channelExists(id) {
			errs = append(errs, fmt.Errorf("setting \"Broadcast channel ID\": %q does not name an existing channel", id))
		}
	}
	if c.severityMap, err = alert.ParseSeverityMap(c.AlertSeverityMap); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Alert severity map\": %s", incident.UserMessage(err)))
	}
	if c.hotfixGroups, err = hotfix.ParseGroupList(c.HotfixSignoffGroups); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Hotfix sign-off groups\": %s", incident.UserMessage(err)))
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
	return app.Settings{BroadcastChannelID: c.BroadcastChannelID, PrivateChannels: c.PrivateChannels,
		Policy: c.policy, RotaAdmins: c.rotaAdminIDs, AckTimeout: c.ackTimeout, Renotify: c.renotify,
		AnyRotaMemberMayAck: c.AnyRotaMemberMayAck, UpdateCadence: c.cadence,
		PostmortemChannelID: c.PostmortemChannelID, Location: c.location, HotfixGroups: c.hotfixGroups,
		Alerts: app.AlertSettings{
			Tokens:   map[alert.Source]string{alert.SourceAlertmanager: c.AlertmanagerToken, alert.SourceGrafana: c.GrafanaToken},
			TeamName: c.AlertTeamName, SeverityLabel: c.AlertSeverityLabel, SeverityMap: c.severityMap,
			DefaultSeverity: c.severity(),
		}}
}

func (p *Plugin) getConfiguration() *configuration {
	if c := p.config.Load(); c != nil {
		return c
	}
	c := &configuration{}
	c.SetDefaults()
	_ = c.IsValid(nil, nil)
	return c
}

// duration reads a setting like "5m", "90s", "1h30m" or "off" (0).
func duration(setting, s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "off" || s == "never" || s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("setting %q: %q is not a duration such as 90s, 5m or 1h (or off)", setting, s)
	}
	return d, nil
}

// perSeverity reads "S1=5m, S2=10m, S3=30m, S4=off"; every severity must be
// given once.
func perSeverity(setting, s string) (map[incident.Severity]time.Duration, error) {
	out := map[incident.Severity]time.Duration{}
	for _, part := range splitList(s) {
		k, v, ok := strings.Cut(part, "=")
		sev, err := incident.ParseSeverity(k)
		if !ok || err != nil {
			return nil, fmt.Errorf("setting %q: %q is not like S1=5m", setting, part)
		}
		if _, dup := out[sev]; dup {
			return nil, fmt.Errorf("setting %q: %s is given twice", setting, sev)
		}
		if out[sev], err = duration(setting, v); err != nil {
			return nil, err
		}
	}
	for _, sev := range incident.Severities {
		if _, ok := out[sev]; !ok {
			return nil, fmt.Errorf("setting %q: give a value for %s too (off for none)", setting, sev)
		}
	}
	return out, nil
}

// splitList splits a setting on commas and white space.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' })
}

// parsePolicy reads the role priority ("im,l1,l2,l3,rm") and the pairs that
// may be combined ("l2+l3").
func parsePolicy(priority, combinable string) (rota.Policy, error) {
	var p rota.Policy
	for _, s := range splitList(priority) {
		r, err := incident.ParseRole(s)
		if err != nil {
			return rota.Policy{}, fmt.Errorf("setting \"Role priority\": %s", incident.UserMessage(err))
		}
		p.Priority = append(p.Priority, r)
	}
	for _, pair := range splitList(combinable) {
		a, b, ok := strings.Cut(pair, "+")
		ra, errA := incident.ParseRole(a)
		rb, errB := incident.ParseRole(b)
		if !ok || errA != nil || errB != nil {
			return rota.Policy{}, fmt.Errorf("setting \"Combinable roles\": %q is not a pair such as l2+l3", pair)
		}
		p.Combinable = append(p.Combinable, [2]incident.Role{ra, rb})
	}
	if err := p.Validate(); err != nil {
		return rota.Policy{}, fmt.Errorf("role settings: %s", incident.UserMessage(err))
	}
	return p, nil
}

func (p *Plugin) userIDByName(username string) (string, bool) {
	u, appErr := p.API.GetUserByUsername(username)
	if appErr != nil {
		return "", false
	}
	return u.Id, true
}

func (p *Plugin) channelExists(id string) bool {
	_, appErr := p.API.GetChannel(id)
	return appErr == nil
}

// loadConfiguration reads, defaults and validates the saved settings.
func loadConfiguration(api plugin.API, channelExists func(string) bool, userID func(string) (string, bool)) (*configuration, error) {
	c := &configuration{}
	if err := api.LoadPluginConfiguration(c); err != nil {
		return nil, fmt.Errorf("load plugin configuration: %w", err)
	}
	c.SetDefaults()
	return c, c.IsValid(channelExists, userID)
}

// OnConfigurationChange swaps in a new valid configuration. It also runs
// once before OnActivate. On servers older than 8.0 nothing stops an admin
// saving bad values, so an invalid configuration is refused here: the last
// valid one stays in force, and the error is logged and sent to admins.
func (p *Plugin) OnConfigurationChange() error {
	c, err := loadConfiguration(p.API, p.channelExists, p.userIDByName)
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
	if err := c.IsValid(p.channelExists, p.userIDByName); err != nil {
		return nil, err
	}
	return nil, nil
}
