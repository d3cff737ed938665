package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/rs/zerolog"
)

// Settings never silently change. What cannot be read is refused, and the
// settings in force stay; a reference that no longer resolves (a renamed
// rota admin, a deleted channel) skips just that entry, and the admins are
// told. The settings last applied are kept in the KV store, so that a
// plugin activated with saved settings it cannot read (saved on a server
// older than 8.0, which does not ask ConfigurationWillBeSaved) runs with
// the last good ones, never with the defaults.

// appliedKey holds the settings last applied, as saved.
const appliedKey = "config/v1/applied"

// appliedSettings is the record under appliedKey.
type appliedSettings struct {
	Settings  configuration `json:"settings"`
	AppliedAt time.Time     `json:"applied_at"`
}

// OnConfigurationChange applies the saved settings. It also runs once
// before OnActivate (the bot may not exist yet: notices to the admins wait
// for it).
func (p *Plugin) OnConfigurationChange() error {
	saved := &configuration{}
	if err := p.API.LoadPluginConfiguration(saved); err != nil {
		return fmt.Errorf("load plugin configuration: %w", err)
	}
	saved.SetDefaults()
	if err := saved.parse(); err != nil {
		return p.refuse(saved, err)
	}
	p.apply(saved)
	return nil
}

// refuse keeps the settings in force (or, on activation, the last applied
// ones) when the saved ones cannot be read, and tells the admins.
func (p *Plugin) refuse(saved *configuration, err error) error {
	fix := " Fix them in System Console > Plugins > Incident Bot."
	if p.config.Load() != nil {
		p.notifyAdmins(saved, "Incident bot: the new settings were not applied, the previous ones stay in force: "+err.Error()+fix)
		return err
	}
	last, ok := p.lastApplied()
	if !ok {
		p.notifyAdmins(saved, "Incident bot: the saved settings cannot be read and no earlier settings are known, so the defaults are in force: "+err.Error()+fix)
		return err
	}
	p.notifyAdmins(saved, fmt.Sprintf("Incident bot: the saved settings cannot be read, so the settings last applied (%s) stay in force: %s%s",
		last.AppliedAt.UTC().Format("2006-01-02 15:04 MST"), err.Error(), fix))
	p.apply(&last.Settings)
	return nil
}

// apply resolves c's references, puts c in force and records it as the
// settings last applied.
func (p *Plugin) apply(c *configuration) {
	raw := *c // as saved, before unresolved entries are skipped
	for _, w := range c.resolve(p.channelID, p.userIDByName) {
		p.notifyAdmins(&raw, "Incident bot: "+w)
	}
	p.config.Store(c)
	level, _ := zerolog.ParseLevel(c.LogLevel)
	zerolog.SetGlobalLevel(level)
	p.recordApplied(&raw)
}

// lastApplied reads the settings last applied; ok is false when there are
// none (or they cannot be read any more).
func (p *Plugin) lastApplied() (appliedSettings, bool) {
	var a appliedSettings
	b, appErr := p.API.KVGet(appliedKey)
	if appErr != nil || b == nil || json.Unmarshal(b, &a) != nil {
		return a, false
	}
	a.Settings.SetDefaults()
	if err := a.Settings.parse(); err != nil {
		return a, false
	}
	return a, true
}

// recordApplied stores c as the settings last applied, unless they are
// stored already (every node applies the same settings).
func (p *Plugin) recordApplied(c *configuration) {
	if last, ok := p.lastApplied(); ok && reflect.DeepEqual(exported(&last.Settings), exported(c)) {
		return
	}
	b, err := json.Marshal(appliedSettings{Settings: *c, AppliedAt: time.Now()})
	if err != nil {
		return
	}
	if appErr := p.API.KVSet(appliedKey, b); appErr != nil {
		p.API.LogWarn("Incident bot: record the settings applied", "error", appErr.Error())
	}
}

// exported is c's saved fields, without what parse and resolve derive.
func exported(c *configuration) map[string]any {
	out := map[string]any{}
	_ = remarshal(c, &out)
	return out
}

// notifyAdmins logs msg and sends it to the system admins once across the
// cluster and restarts for these saved settings: a claim in the KV store,
// keyed by the message and the settings, decides who sends. Before the
// bot exists the notice waits for OnActivate.
func (p *Plugin) notifyAdmins(saved *configuration, msg string) {
	p.API.LogWarn(msg)
	if p.bot == nil {
		p.pendingNotices = append(p.pendingNotices, pendingNotice{saved: saved, msg: msg})
		return
	}
	b, _ := json.Marshal(exported(saved))
	sum := sha256.Sum256(append(append(b, 0), msg...))
	key := "config/v1/told/" + hex.EncodeToString(sum[:12])
	ok, appErr := p.API.KVSetWithOptions(key, []byte("1"), model.PluginKVSetOptions{Atomic: true, OldValue: nil})
	if appErr != nil || !ok {
		return // told before, or the store is down: the log line stands
	}
	p.tellAdmins(msg)
}

// pendingNotice is a notice to the admins made before the bot existed.
type pendingNotice struct {
	saved *configuration
	msg   string
}

// flushNotices sends the notices made before activation.
func (p *Plugin) flushNotices() {
	pending := p.pendingNotices
	p.pendingNotices = nil
	for _, n := range pending {
		p.notifyAdmins(n.saved, n.msg)
	}
}

// ConfigurationWillBeSaved refuses, in the System Console of servers 8.0
// and later, settings of this plugin that cannot be read. It looks at
// nothing else: another plugin's section, or references that no longer
// resolve (a renamed rota admin must not block saving anything), are not
// its business.
func (p *Plugin) ConfigurationWillBeSaved(newCfg *model.Config) (*model.Config, error) {
	raw, ok := newCfg.PluginSettings.Plugins[manifestID]
	if !ok {
		return nil, nil
	}
	if old := p.API.GetConfig(); old != nil && reflect.DeepEqual(normalized(old.PluginSettings.Plugins[manifestID]), normalized(raw)) {
		return nil, nil
	}
	c := &configuration{}
	if err := remarshal(raw, c); err != nil {
		return nil, fmt.Errorf("read incident bot settings: %w", err)
	}
	c.SetDefaults()
	if err := c.parse(); err != nil {
		return nil, err
	}
	return nil, nil
}

// normalized is a plugin's settings as JSON values, so that settings read
// from the config and settings sent by the System Console compare equal.
func normalized(m map[string]any) map[string]any {
	out := map[string]any{}
	_ = remarshal(m, &out)
	return out
}
