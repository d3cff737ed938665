package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// serverConfig returns the config.json for a test server as a sparse map: the
// server fills every unlisted setting with its own v6.7.2 defaults. Building
// it from server/public's model.Config instead would write the defaults of a
// much newer server, some of which 6.7.2 rejects or misreads.
func serverConfig(dir, listenAddr, siteURL, dataSource string) map[string]map[string]any {
	return map[string]map[string]any{
		"ServiceSettings": {
			"SiteURL":                  siteURL,
			"ListenAddress":            listenAddr,
			"EnableLocalMode":          false,
			"EnableSecurityFixAlert":   false,
			"EnableUserAccessTokens":   true,
			"EnableBotAccountCreation": true,
			// Link previews would make the server fetch URLs found in posts.
			"EnableLinkPreviews": false,
			"EnableDeveloper":    false,
			"EnableTesting":      false,
		},
		"TeamSettings": {
			"MaxUsersPerTeam":  1000,
			"EnableOpenServer": false,
		},
		"SqlSettings": {
			"DriverName": "postgres",
			"DataSource": dataSource,
			// The default (300) could exhaust the cluster's connection slots.
			"MaxOpenConns": 60,
			"MaxIdleConns": 10,
		},
		"PluginSettings": {
			"Enable":                      true,
			"EnableUploads":               true,
			"RequirePluginSignature":      false,
			"EnableMarketplace":           false,
			"EnableRemoteMarketplace":     false,
			"AutomaticPrepackagedPlugins": false,
			"EnableHealthCheck":           true,
			"Directory":                   filepath.Join(dir, "plugins"),
			"ClientDirectory":             filepath.Join(dir, "client", "plugins"),
		},
		"FileSettings": {
			"DriverName": "local",
			"Directory":  filepath.Join(dir, "files") + string(filepath.Separator),
		},
		// JSON lines on the console (redirected to LogPath) so failure
		// messages can pick out the lines of one plugin by its plugin_id.
		"LogSettings": {
			"EnableConsole":     true,
			"ConsoleLevel":      "DEBUG",
			"ConsoleJson":       true,
			"EnableColor":       false,
			"EnableFile":        false,
			"FileLocation":      dir,
			"EnableDiagnostics": false,
			"EnableSentry":      false,
		},
		"NotificationLogSettings": {
			"EnableConsole": false,
			"EnableFile":    false,
			"FileLocation":  dir,
		},
		"EmailSettings": {
			"SendEmailNotifications":   false,
			"RequireEmailVerification": false,
			"EnableSignUpWithEmail":    true,
			"SendPushNotifications":    false,
		},
		"RateLimitSettings": {
			"Enable": false,
		},
		"AnnouncementSettings": {
			"AdminNoticesEnabled": false,
			"UserNoticesEnabled":  false,
		},
		"MetricsSettings": {
			"Enable": false,
		},
		"ClusterSettings": {
			"Enable": false,
		},
	}
}

// applyConfigPatch overlays patch (section -> setting -> value) on cfg.
func applyConfigPatch(cfg, patch map[string]map[string]any) {
	for section, settings := range patch {
		if cfg[section] == nil {
			cfg[section] = map[string]any{}
		}
		for k, v := range settings {
			cfg[section][k] = v
		}
	}
}

func writeConfig(path string, cfg map[string]map[string]any) error {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encode server config: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write server config: %w", err)
	}
	return nil
}
