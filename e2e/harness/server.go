package harness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// DefaultUsers is how many regular users Start creates unless told otherwise.
const DefaultUsers = 8

// Options tune Start. The zero value is a server with DefaultUsers users.
type Options struct {
	// Users is the number of regular (non-admin) users to create, all
	// members of Team. 0 means DefaultUsers; a negative number means none.
	Users int
	// Install is the server build to run; nil means EnsureServerBinary.
	Install *Install
	// ConfigPatch overlays settings (section -> setting -> value, as in
	// config.json) on the harness defaults, e.g.
	// {"ServiceSettings": {"AllowedUntrustedInternalConnections": "127.0.0.1"}}.
	ConfigPatch map[string]map[string]any
	// Keep leaves the temp directory (database, logs, config) in place after
	// Stop, for post-mortems. The INCIDENT_BOT_E2E_KEEP=1 environment
	// variable does the same.
	Keep bool
	// ReadyTimeout bounds the wait for the server to answer pings (schema
	// migrations run on first start). 0 means 2 minutes.
	ReadyTimeout time.Duration
}

// User is a user of the test server with its own logged-in API client.
type User struct {
	*model.User
	Password string
	Client   *model.Client4
}

// Server is a running Mattermost server with its own database, one open team,
// a system admin and regular users.
type Server struct {
	// URL is the site URL, http://127.0.0.1:<port>.
	URL string
	// Admin is the first user, and so the system admin. Not in Users.
	Admin *User
	// Team is an open team that Admin and all Users belong to.
	Team *model.Team
	// TownSquare and OffTopic are Team's default channels; every team
	// member is in them.
	TownSquare *model.Channel
	OffTopic   *model.Channel
	// Users are the regular users, named user1, user2, ...
	Users []*User
	// LogPath is the server's log: JSON lines, plugin logs included.
	LogPath string
	// DataSource is the PostgreSQL DSN of the server's database, for tests
	// that need to prove what was persisted. It reaches PostgreSQL
	// directly, not through DB: no injected latency.
	DataSource string
	// DB is the TCP proxy through which the server's Mattermost (and every
	// node started from it) reaches PostgreSQL: DB.SetLatency slows every
	// query Mattermost makes. A node shares its server's DB.
	DB *DBProxy
	// Dir is the temp directory holding everything of this server.
	Dir string

	keep     bool
	pg       *postgres // nil on a node
	mm       *process
	stopOnce sync.Once
	stopErr  error

	pauseMu sync.Mutex
	paused  *pgPause // set while PausePostgres holds the cluster stopped
}

// Start runs a fresh Mattermost server on a free loopback port with a fresh
// PostgreSQL database, and creates the admin, the team and the users. On error
// everything already started is stopped again. Call Stop when done (MustStart
// does that for tests).
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	start := time.Now()
	inst := opts.Install
	if inst == nil {
		built, err := EnsureServerBinary(ctx)
		if err != nil {
			return nil, err
		}
		inst = &built
	}

	removeStaleDirs()
	dir, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	if err := writeOwner(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// As root, PostgreSQL runs as the postgres user and must reach its data
	// directory inside this one.
	if err := os.Chmod(dir, 0o711); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("open temp dir to postgres: %w", err)
	}
	s := &Server{
		Dir:     dir,
		LogPath: filepath.Join(dir, "mattermost.log"),
		keep:    opts.Keep || os.Getenv("INCIDENT_BOT_E2E_KEEP") == "1",
	}
	defer func() {
		if err != nil {
			if stopErr := s.Stop(); stopErr != nil {
				err = errors.Join(err, fmt.Errorf("clean up after failed start: %w", stopErr))
			}
		}
	}()

	if s.pg, err = startPostgres(ctx, dir); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s.DataSource = s.pg.dataSource()
	if s.DB, err = startDBProxy(s.pg.addr()); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	if err := s.startMattermost(ctx, inst, opts); err != nil {
		return nil, fmt.Errorf("start mattermost: %w", err)
	}

	users := opts.Users
	if users == 0 {
		users = DefaultUsers
	}
	if err := s.populate(ctx, max(users, 0)); err != nil {
		return nil, fmt.Errorf("create admin, team and users: %w\nserver log:\n%s", err, s.ServerLogTail(20))
	}
	progressf("Mattermost v%s ready at %s with %d users in %s", ServerVersion, s.URL, len(s.Users), time.Since(start).Round(time.Millisecond))
	return s, nil
}

// MustStart is Start for tests: it fails the test on error and stops the
// server in t.Cleanup, printing the end of the server log if the test failed.
func MustStart(t testing.TB, opts Options) *Server {
	t.Helper()
	// A cold server build takes minutes; a warm start a few seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start Mattermost: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of %s:\n%s", s.LogPath, s.ServerLogTail(60))
		}
		if err := s.Stop(); err != nil {
			t.Errorf("stop Mattermost: %v", err)
		}
	})
	return s
}

func (s *Server) startMattermost(ctx context.Context, inst *Install, opts Options) error {
	// The server finds i18n/, templates/ and fonts/ relative to its working
	// directory. Links keep the shared cache read-only for it: anything the
	// server writes lands in this server's own temp dir.
	work := filepath.Join(s.Dir, "mm")
	if err := os.Mkdir(work, 0o755); err != nil {
		return fmt.Errorf("create working dir: %w", err)
	}
	for _, d := range assetDirs {
		if err := os.Symlink(filepath.Join(inst.Dir, d), filepath.Join(work, d)); err != nil {
			return fmt.Errorf("link %s: %w", d, err)
		}
	}

	port, err := FreePort()
	if err != nil {
		return err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	s.URL = "http://" + listen
	cfg := serverConfig(s.Dir, listen, s.URL, s.DB.DataSource())
	applyConfigPatch(cfg, opts.ConfigPatch)
	cfgPath := filepath.Join(s.Dir, "config.json")
	if err := writeConfig(cfgPath, cfg); err != nil {
		return err
	}
	// The server creates the plugin directories' parents only partly; a
	// missing client/ disables plugins altogether ("Plugins have been
	// disabled").
	for _, d := range []string{"plugins", filepath.Join("client", "plugins")} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return fmt.Errorf("create plugin directory: %w", err)
		}
	}

	logFile, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("create server log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(inst.Binary, "server", "--config", cfgPath)
	cmd.Dir = work
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// SIGTERM, not SIGKILL, on the test's death: a killed server would
	// orphan its plugin processes. mmserver's watchdog turns a stop that
	// hangs into a SIGKILL of its whole process group.
	if s.mm, err = startProcess(cmd, syscall.SIGTERM); err != nil {
		return fmt.Errorf("run %s: %w", inst.Binary, err)
	}

	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	readyCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := poll(readyCtx, pollInterval, s.ping); err != nil {
		return fmt.Errorf("wait for %s/api/v4/system/ping: %w\nserver log:\n%s", s.URL, err, s.ServerLogTail(30))
	}
	return nil
}

// ping is one readiness probe; a server that has exited is a hard failure so
// that a crash on start-up does not wait out the whole timeout.
func (s *Server) ping() (bool, error) {
	if s.mm.exited() {
		return false, stopPolling{fmt.Errorf("server exited: %v", s.mm.err)}
	}
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(s.URL + "/api/v4/system/ping")
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("ping: %s", resp.Status)
	}
	return true, nil
}

// serverEnv is our environment minus MM_* variables: the server reads those
// as config overrides, and plugin developers commonly export
// MM_SERVICESETTINGS_SITEURL and friends for their own dev server. It sets
// INCIDENT_BOT_MIN_TIMER=1s (unless our environment sets it): plugin
// processes inherit the server's environment, and the plugin then accepts
// escalation timeouts, re-notification intervals and update cadences of a
// few seconds, which the end-to-end tests use.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MM_") && !strings.HasPrefix(kv, minTimerEnv+"=") {
			env = append(env, kv)
		}
	}
	return append(env, minTimerSetting())
}

// Stop resumes a paused PostgreSQL, stops Mattermost (SIGTERM, then SIGKILL
// after 20 s) and its plugin processes, then the database proxy and
// PostgreSQL, and removes the temp dir unless Keep was set. It is safe to
// call more than once; later calls return the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	var errs []error
	// A paused cluster would hang Mattermost's shutdown and ignore
	// pg_ctl stop.
	if err := s.resumePostgres(); err != nil {
		errs = append(errs, err)
	}
	if s.mm != nil {
		// A server only seconds old takes 9-13 s to stop: it waits for
		// its job workers.
		if err := s.mm.stop(20 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("stop mattermost: %w", err))
		}
	}
	if s.pg != nil { // the proxy belongs to the server that owns the database
		if err := s.DB.close(); err != nil {
			errs = append(errs, fmt.Errorf("close database proxy: %w", err))
		}
	}
	if err := s.pg.stop(); err != nil {
		errs = append(errs, fmt.Errorf("stop postgres: %w", err))
	}
	if s.keep {
		// Without its owner file the janitor leaves the dir alone.
		_ = os.Remove(filepath.Join(s.Dir, ownerFile))
		progressf("kept server files in %s", s.Dir)
	} else if err := os.RemoveAll(s.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", s.Dir, err))
	}
	return errors.Join(errs...)
}

// ServerLogTail returns the last n lines of the server log, for failure
// messages.
func (s *Server) ServerLogTail(n int) string {
	return tailFile(s.LogPath, n)
}
