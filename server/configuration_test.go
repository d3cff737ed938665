package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
)

func TestConfigurationParse(t *testing.T) {
	cases := []struct {
		name string
		cfg  configuration
		want string // "" = valid
	}{
		{"defaults", configuration{}, ""},
		{"channel id", configuration{BroadcastChannelID: model.NewId()}, ""},
		{"not an id", configuration{BroadcastChannelID: "town-square"}, `"town-square" is not a channel: to name a channel, write ~town-square`},
		{"bad severity", configuration{DefaultSeverity: "S5"}, `"Default severity"`},
		{"bad log level", configuration{LogLevel: "loud"}, `"Log level"`},
		{"rota admins", configuration{RotaAdmins: "@alice, bob"}, ""},
		{"not a username", configuration{RotaAdmins: "alice, @b!ob"}, `"b!ob" is not a username`},
		{"priority incomplete", configuration{RolePriority: "im,l1"}, "role settings"},
		{"priority unknown role", configuration{RolePriority: "im,l1,l2,l3,qa"}, `"Role priority"`},
		{"combinable pair", configuration{CombinableRoles: "l2+l3"}, ""},
		{"im never combined", configuration{CombinableRoles: "im+l1"}, "role settings"},
		{"bad pair", configuration{CombinableRoles: "l2-l3"}, `"Combinable roles"`},
		{"escalation", configuration{EscalationTimeouts: "S1=1m,S2=2m,S3=3m,S4=off"}, ""},
		{"escalation missing S4", configuration{EscalationTimeouts: "S1=1m,S2=2m,S3=3m"}, "give a value for S4"},
		{"escalation bad duration", configuration{EscalationTimeouts: "S1=soon,S2=2m,S3=3m,S4=off"}, `"soon" is not a duration`},
		{"escalation too short", configuration{EscalationTimeouts: "S1=10s,S2=2m,S3=3m,S4=off"}, "10s is too short; use at least 30s"},
		{"renotify too small", configuration{RenotifyInterval: "10ms"}, `"Re-notify interval"`},
		{"renotify minimum", configuration{RenotifyInterval: "30s"}, ""},
		{"cadence too short", configuration{UpdateCadence: "S1=1s,S2=1h,S3=1h,S4=off"}, "use at least 1m"},
		{"display zone", configuration{DisplayTimeZone: "Europe/Berlin"}, ""},
		{"bad display zone", configuration{DisplayTimeZone: "Mars/Base"}, `"Display time zone"`},
		{"bad postmortem channel", configuration{PostmortemChannelID: "postmortems"}, `"Postmortems channel"`},
		{"channel by name", configuration{PostmortemChannelID: "~post-mortems", BroadcastChannelID: "~ops/incidents"}, ""},
		{"channel name with a space", configuration{BroadcastChannelID: "~town square"}, `"Broadcast channel": "~town square" is not a channel: write ~channel-name`},
		{"channel name of a bad team", configuration{BroadcastChannelID: "~Ops Team/incidents"}, `"Broadcast channel"`},
		{"cadence twice", configuration{UpdateCadence: "S1=1m,S1=2m,S2=1h,S3=1h,S4=off"}, "given twice"},
		{"runbook rules", configuration{RunbookRules: "S1 -> major; alertname=BuildServerDown -> build-server\ntitle:database -> db"}, ""},
		{"runbook rule without arrow", configuration{RunbookRules: "S1 major"}, `"Runbook rules"`},
		{"runbook rule bad name", configuration{RunbookRules: "S1 -> Major Incident"}, `"Runbook rules"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.SetDefaults()
			err := cfg.parse()
			if c.want == "" && err != nil {
				t.Fatalf("valid settings refused: %v", err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// A reference that no longer resolves skips just that entry, with a
// warning; the rest of the settings stand.
func TestConfigurationResolveSkipsUnresolvedEntries(t *testing.T) {
	known, gone := model.NewId(), model.NewId()
	c := configuration{BroadcastChannelID: known, PostmortemChannelID: gone, RotaAdmins: "@alice, @bob", PrivateChannels: true}
	c.SetDefaults()
	if err := c.parse(); err != nil {
		t.Fatal(err)
	}
	warnings := c.resolve(func(id string) (string, error) {
		if id != known {
			return "", errors.New("there is no channel " + id + " any more")
		}
		return id, nil
	}, func(n string) (string, bool) { return "id-" + n, n == "alice" })
	if len(warnings) != 2 || !strings.Contains(warnings[0], "no user @bob") || !strings.Contains(warnings[1], "Postmortems channel") {
		t.Fatalf("warnings = %q", warnings)
	}
	if !slices.Equal(c.rotaAdminIDs, []string{"id-alice"}) || c.BroadcastChannelID != known || c.PostmortemChannelID != "" || !c.PrivateChannels {
		t.Fatalf("resolved = %+v", c)
	}
}

// A channel setting may name the channel; resolving puts its id in force
// and keeps the name in the settings as saved.
func TestConfigurationResolvesChannelNames(t *testing.T) {
	id := model.NewId()
	c := configuration{BroadcastChannelID: "~incidents", PostmortemChannelID: "~postmortems"}
	c.SetDefaults()
	if err := c.parse(); err != nil {
		t.Fatal(err)
	}
	warnings := c.resolve(func(ref string) (string, error) {
		if ref == "~incidents" {
			return id, nil
		}
		return "", errors.New("teams a, b each have a channel " + ref + ": write ~<team>/postmortems")
	}, nil)
	if c.BroadcastChannelID != id || c.PostmortemChannelID != "" {
		t.Fatalf("resolved = %q, %q", c.BroadcastChannelID, c.PostmortemChannelID)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "write ~<team>/postmortems") || !strings.Contains(warnings[0], "go only to their incident channels") {
		t.Fatalf("warnings = %q", warnings)
	}
}

// On servers 8.0+, ConfigurationWillBeSaved stops values that cannot be
// read before they are saved, and nothing else.
func TestConfigurationWillBeSaved(t *testing.T) {
	api := &plugintest.API{}
	api.On("GetConfig").Return(&model.Config{})
	p := &Plugin{}
	p.SetAPI(api)

	cfg := &model.Config{}
	cfg.PluginSettings.Plugins = map[string]map[string]any{manifestID: {"escalationtimeouts": "S1=soon", "defaultseverity": "S2"}}
	if _, err := p.ConfigurationWillBeSaved(cfg); err == nil || !strings.Contains(err.Error(), "Escalation timeouts") {
		t.Fatalf("err = %v", err)
	}
	// A rota admin who does not exist, or a channel that is gone, is no
	// reason to refuse a save: nothing is looked up (the mock would panic).
	cfg.PluginSettings.Plugins[manifestID] = map[string]any{"rotaadmins": "@nobody", "broadcastchannelid": model.NewId(), "privatechannels": true}
	if _, err := p.ConfigurationWillBeSaved(cfg); err != nil {
		t.Fatalf("valid settings refused: %v", err)
	}
	// Unchanged settings are not checked again, even if they no longer
	// parse (they were saved on an older server).
	bad := map[string]any{"escalationtimeouts": "S1=soon"}
	api2 := &plugintest.API{}
	old := &model.Config{}
	old.PluginSettings.Plugins = map[string]map[string]any{manifestID: bad}
	api2.On("GetConfig").Return(old)
	p.SetAPI(api2)
	cfg.PluginSettings.Plugins[manifestID] = bad
	if _, err := p.ConfigurationWillBeSaved(cfg); err != nil {
		t.Fatalf("unchanged settings refused: %v", err)
	}
	// Another plugin's section is none of its business.
	if _, err := p.ConfigurationWillBeSaved(&model.Config{}); err != nil {
		t.Fatal(err)
	}
}

func TestShortIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := newShortID()
		if len(id) != 6 || strings.Trim(id, app.IDAlphabet) != "" || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}
