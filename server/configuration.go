package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/alias"
	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/hosts"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/noise"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/routing"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
)

// configuration is the plugin's System Console settings. A value is never
// mutated after it is published; changes build a new one and swap it in.
type configuration struct {
	BroadcastChannelID string
	PrivateChannels    bool
	// PrivateIncidentDisclosure: what shared channels see of a private
	// incident (redacted, full or none).
	PrivateIncidentDisclosure string
	DefaultSeverity           string
	LogLevel                  string
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
	// RunbookRules attach runbooks to new incidents: "<condition> ->
	// <runbook>" separated by ';' or new lines, the condition a severity
	// (S1), an alert label value (alertname=BuildServerDown) or a title
	// keyword (title:database); the first match wins.
	RunbookRules string
	// RotaRules choose the rota of a new incident that names none:
	// "<condition> -> <rota>" separated by ';' or new lines (see package
	// routing); the first match wins, else the team's rota, else the first.
	RotaRules string
	// PageWebhookHosts are the hosts pages may be sent to by webhook.
	PageWebhookHosts string
	// AlertThresholds hold back noisy alerts (package noise).
	AlertThresholds string
	// OnDutyHandles names the handle of each role and of the whole rota,
	// e.g. "im=incident-manager, ..., rota=delivery-rota".
	OnDutyHandles string
	// SignoffGroupHandle makes a sign-off group's handle: "{group}" is
	// the group's name ("{group}-signoff"); "off" for none.
	SignoffGroupHandle string

	// Resolved by load: the parsed policy and the rota admins' user ids.
	policy       rota.Policy
	disclosure   incident.Disclosure
	rotaAdminIDs []string
	ackTimeout   map[incident.Severity]time.Duration
	renotify     time.Duration
	cadence      map[incident.Severity]time.Duration
	location     *time.Location
	severityMap  alert.SeverityMap
	hotfixGroups []string
	runbookRules []runbook.Rule
	rotaRules    []routing.Rule
	webhookHosts hosts.List
	thresholds   []noise.Threshold
	handles      alias.Handles
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
	if strings.TrimSpace(c.OnDutyHandles) == "" {
		c.OnDutyHandles = alias.DefaultHandles
	}
	if strings.TrimSpace(c.SignoffGroupHandle) == "" {
		c.SignoffGroupHandle = alias.DefaultGroupPattern
	}
}

// parse checks that every field can be read and derives the parsed
// values; it looks nothing up. An error here refuses the configuration:
// it says what cannot be read and how to write it.
func (c *configuration) parse() error {
	var errs []error
	policy, err := parsePolicy(c.RolePriority, c.CombinableRoles)
	if err != nil {
		errs = append(errs, err)
	}
	c.policy = policy
	if c.ackTimeout, err = perSeverity("Escalation timeouts", c.EscalationTimeouts, minEscalation); err != nil {
		errs = append(errs, err)
	}
	if c.cadence, err = perSeverity("Status update cadence", c.UpdateCadence, minCadence); err != nil {
		errs = append(errs, err)
	}
	if c.renotify, err = duration("Re-notify interval", c.RenotifyInterval, minRenotify); err != nil {
		errs = append(errs, err)
	}
	if c.location, err = time.LoadLocation(c.DisplayTimeZone); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Display time zone\": %q is not a time zone such as Europe/Berlin", c.DisplayTimeZone))
		c.location = time.UTC
	}
	for _, ch := range c.channelSettings() {
		if err := checkChannelRef(*ch.value); err != nil {
			errs = append(errs, fmt.Errorf("setting %q: %w", ch.name, err))
		}
	}
	for _, name := range c.rotaAdminNames() {
		if !model.IsValidUsername(name) {
			errs = append(errs, fmt.Errorf("setting \"Rota admins\": %q is not a username", name))
		}
	}
	if c.severityMap, err = alert.ParseSeverityMap(c.AlertSeverityMap); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Alert severity map\": %s", incident.UserMessage(err)))
	}
	if c.hotfixGroups, err = hotfix.ParseGroupList(c.HotfixSignoffGroups); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Hotfix sign-off groups\": %s", incident.UserMessage(err)))
	}
	if c.rotaRules, err = routing.Parse(c.RotaRules); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Rota routing rules\": %s", incident.UserMessage(err)))
	}
	if c.thresholds, err = noise.Parse(c.AlertThresholds); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Alert noise thresholds\": %s", incident.UserMessage(err)))
	}
	if c.webhookHosts, err = hosts.Parse(c.PageWebhookHosts); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Page webhook hosts\": %s", err))
	}
	if c.runbookRules, err = runbook.ParseRules(c.RunbookRules); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Runbook rules\": %s", incident.UserMessage(err)))
	}
	if c.handles, err = alias.ParseHandles(c.OnDutyHandles, c.SignoffGroupHandle); err != nil {
		errs = append(errs, fmt.Errorf("on-duty handle settings: %s", err))
	}
	if c.disclosure, err = incident.ParseDisclosure(c.PrivateIncidentDisclosure); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Private incidents in shared channels\": %s", incident.UserMessage(err)))
	}
	if _, err := incident.ParseSeverity(c.DefaultSeverity); err != nil {
		errs = append(errs, fmt.Errorf("setting \"Default severity\": %s", incident.UserMessage(err)))
	}
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil || c.LogLevel == "" {
		errs = append(errs, fmt.Errorf("setting \"Log level\": %q: use debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// rotaAdminNames lists the usernames of the "Rota admins" setting.
func (c *configuration) rotaAdminNames() []string {
	var names []string
	for _, name := range splitList(c.RotaAdmins) {
		names = append(names, strings.ToLower(strings.TrimPrefix(name, "@")))
	}
	return names
}

// resolve looks up what the settings refer to: the rota admins' accounts
// and the channels. A reference that no longer resolves (a renamed user,
// a deleted channel) does not refuse the configuration: just that entry
// is skipped, and the returned warnings say so, for the admins. nil
// lookups skip the check.
func (c *configuration) resolve(channelID func(ref string) (string, error), userID func(username string) (string, bool)) []string {
	var warnings []string
	c.rotaAdminIDs = nil
	for _, name := range c.rotaAdminNames() {
		if userID == nil {
			continue
		}
		id, ok := userID(name)
		if !ok {
			warnings = append(warnings, fmt.Sprintf("setting \"Rota admins\": there is no user @%s any more (renamed or deleted?); the others keep their rights. Put their current username in the setting.", name))
			continue
		}
		c.rotaAdminIDs = append(c.rotaAdminIDs, id)
	}
	for _, name := range c.handles.Names() {
		if userID == nil {
			break
		}
		if _, taken := userID(name); taken {
			warnings = append(warnings, fmt.Sprintf("setting \"On-duty handles\": a user is called @%s, so mentioning the handle also notifies them; rename the handle (or the user).", name))
		}
	}
	if channelID == nil {
		return warnings
	}
	for _, ch := range c.channelSettings() {
		if *ch.value == "" {
			continue
		}
		id, err := channelID(*ch.value)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("setting %q: %s; %s until you name another.", ch.name, err, ch.without))
		}
		*ch.value = id
	}
	return warnings
}

// channelSetting is a setting that names a channel.
type channelSetting struct {
	name    string
	value   *string
	without string // what happens while it names none
}

func (c *configuration) channelSettings() []channelSetting {
	return []channelSetting{
		{"Broadcast channel", &c.BroadcastChannelID, "incidents are not broadcast"},
		{"Postmortems channel", &c.PostmortemChannelID, "postmortems go only to their incident channels"},
	}
}

// checkChannelRef accepts what a channel setting may hold: nothing, a
// channel's 26-character id, ~name, or ~team/name when several teams have
// a channel of that name.
func checkChannelRef(ref string) error {
	if ref == "" || model.IsValidId(ref) {
		return nil
	}
	if name, ok := strings.CutPrefix(ref, "~"); ok {
		team, ch, hasTeam := strings.Cut(name, "/")
		if !hasTeam {
			team, ch = "", team
		}
		if (!hasTeam || model.IsValidTeamName(team)) && model.IsValidChannelIdentifier(ch) {
			return nil
		}
	}
	if model.IsValidChannelIdentifier(ref) {
		return fmt.Errorf("%q is not a channel: to name a channel, write ~%s", ref, ref)
	}
	return fmt.Errorf("%q is not a channel: write ~channel-name (~team-name/channel-name if several teams have one of that name), or the channel's 26-character ID, or run `/incident setup`", ref)
}

func (c *configuration) severity() incident.Severity {
	s, err := incident.ParseSeverity(c.DefaultSeverity)
	if err != nil {
		return incident.DefaultSeverity
	}
	return s
}

func (c *configuration) appSettings() app.Settings {
	return app.Settings{BroadcastChannelID: c.BroadcastChannelID, PrivateChannels: c.PrivateChannels, PrivateDisclosure: c.disclosure,
		Policy: c.policy, RotaAdmins: c.rotaAdminIDs, AckTimeout: c.ackTimeout, MinEscalation: minOf(minEscalation), Renotify: c.renotify,
		AnyRotaMemberMayAck: c.AnyRotaMemberMayAck, UpdateCadence: c.cadence,
		PostmortemChannelID: c.PostmortemChannelID, Location: c.location, HotfixGroups: c.hotfixGroups, Handles: c.handles,
		RunbookRules: c.runbookRules,
		RotaRules:    c.rotaRules,
		WebhookHosts: c.webhookHosts,
		Alerts: app.AlertSettings{
			Tokens:   map[alert.Source]string{alert.SourceAlertmanager: c.AlertmanagerToken, alert.SourceGrafana: c.GrafanaToken},
			TeamName: c.AlertTeamName, SeverityLabel: c.AlertSeverityLabel, SeverityMap: c.severityMap,
			DefaultSeverity: c.severity(), Thresholds: c.thresholds,
		}}
}

func (p *Plugin) getConfiguration() *configuration {
	if c := p.config.Load(); c != nil {
		return c
	}
	c := &configuration{}
	c.SetDefaults()
	_ = c.parse()
	return c
}

// Durations below these minimums are refused: a 1-second reminder cadence
// or escalation would flood people rather than help them. The
// INCIDENT_BOT_MIN_TIMER environment variable of the server lowers them
// (the end-to-end tests run escalations in seconds); it cannot raise them.
const (
	minEscalation = 30 * time.Second
	minRenotify   = 30 * time.Second
	minCadence    = time.Minute
)

// minTimerOverride is the lowered minimum from INCIDENT_BOT_MIN_TIMER, if
// any.
var minTimerOverride = func() time.Duration {
	d, err := time.ParseDuration(os.Getenv("INCIDENT_BOT_MIN_TIMER"))
	if err != nil || d <= 0 {
		return 0
	}
	return d
}()

// minOf is min lowered by INCIDENT_BOT_MIN_TIMER, if that is set.
func minOf(min time.Duration) time.Duration {
	if minTimerOverride > 0 && minTimerOverride < min {
		return minTimerOverride
	}
	return min
}

// duration reads a setting like "5m", "90s", "1h30m" or "off" (0); a
// duration below min is refused.
func duration(setting, s string, min time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "off" || s == "never" || s == "0" {
		return 0, nil
	}
	min = minOf(min)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("setting %q: %q is not a duration such as 90s, 5m or 1h (or off)", setting, s)
	}
	if d < min {
		return 0, fmt.Errorf("setting %q: %s is too short; use at least %s (or off)", setting, s, incident.FormatDuration(min))
	}
	return d, nil
}

// perSeverity reads "S1=5m, S2=10m, S3=30m, S4=off"; every severity must be
// given once.
func perSeverity(setting, s string, min time.Duration) (map[incident.Severity]time.Duration, error) {
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
		if out[sev], err = duration(setting, v, min); err != nil {
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

// channelID resolves a channel setting's value (see checkChannelRef) to
// the channel's id.
func (p *Plugin) channelID(ref string) (string, error) {
	name, byName := strings.CutPrefix(ref, "~")
	if !byName {
		if _, appErr := p.API.GetChannel(ref); appErr != nil {
			return "", fmt.Errorf("there is no channel %s any more", ref)
		}
		return ref, nil
	}
	if team, ch, ok := strings.Cut(name, "/"); ok {
		c, appErr := p.API.GetChannelByNameForTeamName(team, ch, false)
		if appErr != nil {
			return "", fmt.Errorf("there is no channel ~%s in team %s", ch, team)
		}
		return c.Id, nil
	}
	teams, appErr := p.API.GetTeams()
	if appErr != nil {
		return "", fmt.Errorf("cannot look up ~%s: %s", name, appErr.Message)
	}
	var ids, in []string
	for _, t := range teams {
		if c, appErr := p.API.GetChannelByName(t.Id, name, false); appErr == nil {
			ids, in = append(ids, c.Id), append(in, t.Name)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("there is no channel ~%s", name)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("teams %s each have a channel ~%s: write ~<team>/%s", strings.Join(in, ", "), name, name)
}
