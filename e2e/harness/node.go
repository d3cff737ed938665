package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// A node is a second Mattermost server on the same PostgreSQL database and
// file store as a Server, as the nodes of a high-availability cluster are,
// but without a cluster licence: it serves the same teams, users and
// sessions (a token works on both), installs the plugins it finds in the
// shared file store at startup and runs its own plugin processes over the
// same plugin KV store; it reaches the database through the first
// server's DB proxy, so latency set there (or a pause) slows both. Its
// config is its own file: a copy of the first server's taken at
// StartNode, so plugin settings patched on the first server afterwards
// must be patched on the node too. Caches are not
// invalidated across nodes (there is no cluster bus), so tests should
// assert on what plugins did (posts, KV), not on cached server state.
//
// A node is a *Server whose URL, Admin and Users talk to the node; its
// Stop stops only the node (the database belongs to the first server),
// and it must be stopped before the first server is (t.Cleanup order does
// that when the node is started inside a test).

// NodeOptions tune StartNode.
type NodeOptions struct {
	// ConfigPatch overlays settings (section -> setting -> value) on the
	// copy of the first server's config.
	ConfigPatch map[string]map[string]any
	// ReadyTimeout bounds the wait for the node to answer pings. 0 means
	// 2 minutes.
	ReadyTimeout time.Duration
	// Env adds environment variables (KEY=value) to the node's process,
	// which its plugin processes inherit: INCIDENT_BOT_CLOCK_OFFSET=20s
	// runs the node's plugin with its clock 20 s ahead.
	Env []string
}

// StartNode starts another Mattermost server sharing s's database and file
// store. It listens on a free loopback port and keeps its own plugin
// directory, working directory and log. Call Stop on the result when done
// (MustStartNode does that for tests).
func (s *Server) StartNode(ctx context.Context, opts NodeOptions) (_ *Server, err error) {
	if s.pg == nil {
		return nil, errors.New("start node: s is itself a node; start nodes from the server that owns the database")
	}
	start := time.Now()
	inst, err := EnsureServerBinary(ctx) // cached: the build s runs
	if err != nil {
		return nil, err
	}
	removeStaleDirs()
	dir, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		return nil, fmt.Errorf("start node: create temp dir: %w", err)
	}
	if err := writeOwner(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	n := &Server{
		Dir:        dir,
		LogPath:    filepath.Join(dir, "mattermost.log"),
		DataSource: s.DataSource,
		DB:         s.DB,
		Team:       s.Team,
		TownSquare: s.TownSquare,
		OffTopic:   s.OffTopic,
		keep:       s.keep,
	}
	defer func() {
		if err != nil {
			if stopErr := n.Stop(); stopErr != nil {
				err = errors.Join(err, fmt.Errorf("clean up after failed node start: %w", stopErr))
			}
		}
	}()

	cfg, err := nodeConfig(filepath.Join(s.Dir, "config.json"), dir)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	n.URL = "http://" + listen
	section(cfg, "ServiceSettings")["ListenAddress"] = listen
	section(cfg, "ServiceSettings")["SiteURL"] = n.URL
	for name, settings := range opts.ConfigPatch {
		sec := section(cfg, name)
		for k, v := range settings {
			sec[k] = v
		}
	}
	cfgPath := filepath.Join(dir, "config.json")
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("start node: encode config: %w", err)
	}
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		return nil, fmt.Errorf("start node: write config: %w", err)
	}

	work := filepath.Join(dir, "mm")
	if err := os.Mkdir(work, 0o755); err != nil {
		return nil, fmt.Errorf("start node: create working dir: %w", err)
	}
	for _, d := range assetDirs {
		if err := os.Symlink(filepath.Join(inst.Dir, d), filepath.Join(work, d)); err != nil {
			return nil, fmt.Errorf("start node: link %s: %w", d, err)
		}
	}
	for _, d := range []string{"plugins", filepath.Join("client", "plugins")} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("start node: create plugin directory: %w", err)
		}
	}
	logFile, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start node: create log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(inst.Binary, "server", "--config", cfgPath)
	cmd.Dir = work
	cmd.Env = append(serverEnv(), opts.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if n.mm, err = startProcess(cmd, syscall.SIGTERM); err != nil {
		return nil, fmt.Errorf("start node: run %s: %w", inst.Binary, err)
	}
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	readyCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := poll(readyCtx, pollInterval, n.ping); err != nil {
		return nil, fmt.Errorf("start node: wait for %s/api/v4/system/ping: %w\nnode log:\n%s", n.URL, err, n.ServerLogTail(30))
	}

	// The sessions live in the shared database: the same tokens work here.
	n.Admin = n.Session(s.Admin)
	for _, u := range s.Users {
		n.Users = append(n.Users, n.Session(u))
	}
	progressf("Mattermost node ready at %s (sharing the database of %s) in %s", n.URL, s.URL, time.Since(start).Round(time.Millisecond))
	return n, nil
}

// MustStartNode is StartNode for tests: it fails the test on error and
// stops the node in t.Cleanup, printing the end of its log if the test
// failed.
func MustStartNode(t testing.TB, s *Server, opts NodeOptions) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n, err := s.StartNode(ctx, opts)
	if err != nil {
		t.Fatalf("start Mattermost node: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of the node's log %s:\n%s", n.LogPath, n.ServerLogTail(60))
		}
		if err := n.Stop(); err != nil {
			t.Errorf("stop Mattermost node: %v", err)
		}
	})
	return n
}

// nodeConfig reads the first server's config (as that server last saved
// it, every setting included) and points everything that must not be
// shared at the node's dir: plugin directories and log locations. The
// database and the file store stay shared.
func nodeConfig(path, dir string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the first server's config: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("decode the first server's config: %w", err)
	}
	section(cfg, "PluginSettings")["Directory"] = filepath.Join(dir, "plugins")
	section(cfg, "PluginSettings")["ClientDirectory"] = filepath.Join(dir, "client", "plugins")
	section(cfg, "LogSettings")["FileLocation"] = dir
	section(cfg, "NotificationLogSettings")["FileLocation"] = dir
	return cfg, nil
}

// section returns cfg[name] as a settings map, creating it if needed.
func section(cfg map[string]any, name string) map[string]any {
	m, ok := cfg[name].(map[string]any)
	if !ok {
		m = map[string]any{}
		cfg[name] = m
	}
	return m
}

// Session returns u as seen by this server: the same user and session
// token, with a client that talks to this server. Use it to send a user's
// requests to a node.
func (s *Server) Session(u *User) *User {
	c := model.NewAPIv4Client(s.URL)
	c.SetToken(u.Client.AuthToken)
	return &User{User: u.User, Password: u.Password, Client: c}
}

// PluginProcesses returns the pids of the live (not zombie) processes of
// plugin pluginID that this server started: its children whose executable
// lies in the server's copy of the plugin.
func (s *Server) PluginProcesses(pluginID string) []int {
	if s.mm == nil || s.mm.exited() {
		return nil
	}
	server := s.mm.cmd.Process.Pid
	dir := filepath.Join(s.Dir, "plugins", pluginID)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	dir += string(filepath.Separator)
	return processes(func(pid int) bool {
		fields := procStatFields(pid)
		if len(fields) < 2 || fields[0] == "Z" || fields[0] == "X" {
			return false
		}
		if ppid, err := strconv.Atoi(fields[1]); err != nil || ppid != server {
			return false
		}
		exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
		return err == nil && strings.HasPrefix(exe, dir)
	})
}

// KillPlugin sends SIGKILL to the plugin's processes on this server, as a
// crash or the OOM killer would, and waits until they are dead (a zombie
// not yet reaped by the server counts as dead). It returns the pids killed;
// it is an error if the plugin has no process. The server does not notice
// by itself until its plugin health check runs (every 30 s, if enabled);
// RestartPlugin brings the plugin back at once.
func (s *Server) KillPlugin(pluginID string) ([]int, error) {
	pids := s.PluginProcesses(pluginID)
	if len(pids) == 0 {
		return nil, fmt.Errorf("kill plugin %s: no process of it runs under the server at %s", pluginID, s.URL)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return pids, fmt.Errorf("kill plugin %s: SIGKILL %d: %w", pluginID, pid, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := poll(ctx, 5*time.Millisecond, func() (bool, error) {
		for _, pid := range pids {
			if state, _, ok := procStat(pid); ok && state != 'Z' && state != 'X' {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return pids, fmt.Errorf("kill plugin %s: processes %v still running: %w", pluginID, pids, err)
	}
	return pids, nil
}

// RestartPlugin disables and enables the plugin and waits until it runs
// again: what an admin does in the System Console, and what the server's
// health check does (deactivate, activate) once it notices a dead plugin.
func (s *Server) RestartPlugin(ctx context.Context, pluginID string) error {
	if err := s.DisablePlugin(ctx, pluginID); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if err := s.EnablePlugin(ctx, pluginID); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

// PatchConfig applies a sparse config patch (section -> setting -> value)
// through the API, e.g. {"PluginSettings": {"EnableHealthCheck": false}}.
// Settings not named keep their values. Do not use it for
// PluginSettings.Plugins (see PatchPluginConfig).
func (s *Server) PatchConfig(ctx context.Context, patch map[string]map[string]any) error {
	r, err := s.Admin.Client.DoAPIPutJSON(ctx, "/config/patch", patch)
	if err != nil {
		return fmt.Errorf("patch config of %s: %w", s.URL, err)
	}
	r.Body.Close()
	return nil
}
