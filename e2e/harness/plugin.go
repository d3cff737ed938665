package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// pluginTimeout bounds waiting for a plugin to change state. Install takes
// about half a second and enable tens of milliseconds, so this only matters
// when something is wrong.
const pluginTimeout = 60 * time.Second

// InstallPlugin uploads a plugin bundle (replacing any installed version),
// enables it and waits until the server reports it running. Enable answers
// 200 even when activation fails, so only the plugin status tells; on failure
// the error carries the plugin's lines from the server log.
func (s *Server) InstallPlugin(ctx context.Context, bundlePath, pluginID string) error {
	f, err := os.Open(bundlePath)
	if err != nil {
		return fmt.Errorf("install plugin %s: %w", pluginID, err)
	}
	defer f.Close()
	manifest, _, err := s.Admin.Client.UploadPluginForced(ctx, f)
	if err != nil {
		return fmt.Errorf("install plugin %s: upload %s: %w", pluginID, bundlePath, err)
	}
	if manifest.Id != pluginID {
		return fmt.Errorf("install plugin %s: bundle %s holds plugin %q", pluginID, bundlePath, manifest.Id)
	}
	return s.EnablePlugin(ctx, pluginID)
}

// EnablePlugin enables an installed plugin and waits until it is running.
func (s *Server) EnablePlugin(ctx context.Context, pluginID string) error {
	if _, err := s.Admin.Client.EnablePlugin(ctx, pluginID); err != nil {
		return fmt.Errorf("enable plugin %s: %w", pluginID, err)
	}
	if err := s.waitPluginState(ctx, pluginID, model.PluginStateRunning); err != nil {
		return fmt.Errorf("enable plugin %s: %w", pluginID, err)
	}
	return nil
}

// DisablePlugin disables a plugin and waits until it has stopped.
func (s *Server) DisablePlugin(ctx context.Context, pluginID string) error {
	if _, err := s.Admin.Client.DisablePlugin(ctx, pluginID); err != nil {
		return fmt.Errorf("disable plugin %s: %w", pluginID, err)
	}
	if err := s.waitPluginState(ctx, pluginID, model.PluginStateNotRunning); err != nil {
		return fmt.Errorf("disable plugin %s: %w", pluginID, err)
	}
	return nil
}

// PluginState returns the plugin's state as the server reports it (one of
// model.PluginState*), or an error if it is not installed.
func (s *Server) PluginState(ctx context.Context, pluginID string) (int, error) {
	st, err := s.pluginStatus(ctx, pluginID)
	if err != nil {
		return 0, err
	}
	return st.State, nil
}

func (s *Server) pluginStatus(ctx context.Context, pluginID string) (*model.PluginStatus, error) {
	statuses, _, err := s.Admin.Client.GetPluginStatuses(ctx)
	if err != nil {
		return nil, fmt.Errorf("get plugin statuses: %w", err)
	}
	for _, st := range statuses {
		if st.PluginId == pluginID {
			return st, nil
		}
	}
	return nil, fmt.Errorf("plugin %s is not installed", pluginID)
}

func (s *Server) waitPluginState(ctx context.Context, pluginID string, want int) error {
	ctx, cancel := context.WithTimeout(ctx, pluginTimeout)
	defer cancel()
	last := -1
	err := poll(ctx, pollInterval, func() (bool, error) {
		st, err := s.pluginStatus(ctx, pluginID)
		if err != nil {
			return false, err
		}
		last = st.State
		if st.State == want {
			return true, nil
		}
		if want == model.PluginStateRunning &&
			(st.State == model.PluginStateFailedToStart || st.State == model.PluginStateFailedToStayRunning) {
			return false, stopPolling{fmt.Errorf("plugin failed (state %d) %s", st.State, st.Error)}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for state %d (last seen %d): %w\nserver log lines of %s:\n%s",
			want, last, err, pluginID, s.PluginLogTail(pluginID, 40))
	}
	return nil
}

// PatchPluginConfig sets keys of a plugin's settings (System Console >
// Plugins), leaving its other keys alone. Keys are lower-cased, as the server
// stores them; plugins see the change in OnConfigurationChange.
//
// The config travels as raw JSON rather than model.Config: server/public's
// Config is a newer server's, and a round trip through it would reset
// settings 6.7.2 has but it lacks. Only PluginSettings.Plugins is sent back,
// through the patch endpoint; the server replaces that map whole, so it is
// sent complete.
func (s *Server) PatchPluginConfig(ctx context.Context, pluginID string, settings map[string]any) error {
	r, err := s.Admin.Client.DoAPIGet(ctx, "/config", "")
	if err != nil {
		return fmt.Errorf("patch config of plugin %s: get config: %w", pluginID, err)
	}
	defer r.Body.Close()
	var cfg struct {
		PluginSettings struct {
			Plugins map[string]map[string]any
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
		return fmt.Errorf("patch config of plugin %s: decode config: %w", pluginID, err)
	}
	plugins := cfg.PluginSettings.Plugins
	if plugins == nil {
		plugins = map[string]map[string]any{}
	}
	if plugins[pluginID] == nil {
		plugins[pluginID] = map[string]any{}
	}
	for k, v := range settings {
		plugins[pluginID][strings.ToLower(k)] = v
	}
	patch := map[string]any{"PluginSettings": map[string]any{"Plugins": plugins}}
	pr, err := s.Admin.Client.DoAPIPutJSON(ctx, "/config/patch", patch)
	if err != nil {
		return fmt.Errorf("patch config of plugin %s: %w", pluginID, err)
	}
	pr.Body.Close()
	return nil
}

// PluginLogTail returns the last n server log lines that mention pluginID:
// the plugin's own log calls (tagged with plugin_id) and the server's lines
// about loading it.
func (s *Server) PluginLogTail(pluginID string, n int) string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(%s unreadable: %v)", s.LogPath, err)
	}
	var lines []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, pluginID) {
			lines = append(lines, line)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
