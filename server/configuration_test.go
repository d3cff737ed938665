package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
)

func TestConfigurationValidation(t *testing.T) {
	known := model.NewId()
	exists := func(id string) bool { return id == known }
	cases := []struct {
		name string
		cfg  configuration
		want string // "" = valid
	}{
		{"defaults", configuration{}, ""},
		{"known channel", configuration{BroadcastChannelID: known}, ""},
		{"not an id", configuration{BroadcastChannelID: "town-square"}, "is not a channel ID"},
		{"unknown channel", configuration{BroadcastChannelID: model.NewId()}, "does not name an existing channel"},
		{"bad severity", configuration{DefaultSeverity: "S5"}, `"Default severity"`},
		{"bad log level", configuration{LogLevel: "loud"}, `"Log level"`},
		{"rota admin", configuration{RotaAdmins: "@alice"}, ""},
		{"unknown rota admin", configuration{RotaAdmins: "alice, @bob"}, "no user @bob"},
		{"priority incomplete", configuration{RolePriority: "im,l1"}, "role settings"},
		{"priority unknown role", configuration{RolePriority: "im,l1,l2,l3,qa"}, `"Role priority"`},
		{"combinable pair", configuration{CombinableRoles: "l2+l3"}, ""},
		{"im never combined", configuration{CombinableRoles: "im+l1"}, "role settings"},
		{"bad pair", configuration{CombinableRoles: "l2-l3"}, `"Combinable roles"`},
		{"escalation", configuration{EscalationTimeouts: "S1=1m,S2=2m,S3=3m,S4=off"}, ""},
		{"escalation missing S4", configuration{EscalationTimeouts: "S1=1m,S2=2m,S3=3m"}, "give a value for S4"},
		{"escalation bad duration", configuration{EscalationTimeouts: "S1=soon,S2=2m,S3=3m,S4=off"}, `"soon" is not a duration`},
		{"renotify too small", configuration{RenotifyInterval: "10ms"}, `"Re-notify interval"`},
		{"display zone", configuration{DisplayTimeZone: "Europe/Berlin"}, ""},
		{"bad display zone", configuration{DisplayTimeZone: "Mars/Base"}, `"Display time zone"`},
		{"bad postmortem channel", configuration{PostmortemChannelID: "postmortems"}, `"Postmortems channel ID"`},
		{"cadence twice", configuration{UpdateCadence: "S1=1m,S1=2m,S2=1h,S3=1h,S4=off"}, "given twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.SetDefaults()
			err := cfg.IsValid(exists, func(n string) (string, bool) { return "id-" + n, n == "alice" })
			if c.want == "" && err != nil {
				t.Fatalf("valid settings refused: %v", err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// On servers 8.0+, ConfigurationWillBeSaved stops bad values in the System
// Console before they are saved.
func TestConfigurationWillBeSavedRejectsBadValues(t *testing.T) {
	api := &plugintest.API{}
	missing := model.NewId()
	api.On("GetChannel", missing).Return(nil, model.NewAppError("GetChannel", "missing", nil, "", http.StatusNotFound))
	p := &Plugin{}
	p.SetAPI(api)

	cfg := &model.Config{}
	cfg.PluginSettings.Plugins = map[string]map[string]any{manifestID: {"broadcastchannelid": missing, "defaultseverity": "S2"}}
	if _, err := p.ConfigurationWillBeSaved(cfg); err == nil || !strings.Contains(err.Error(), "does not name an existing channel") {
		t.Fatalf("err = %v", err)
	}
	cfg.PluginSettings.Plugins[manifestID] = map[string]any{"defaultseverity": "S2", "privatechannels": true}
	if _, err := p.ConfigurationWillBeSaved(cfg); err != nil {
		t.Fatalf("valid settings refused: %v", err)
	}
}

func TestShortIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := newShortID()
		if len(id) != 6 || strings.Trim(id, idAlphabet) != "" || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}
