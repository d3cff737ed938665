package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// postgres is a throwaway PostgreSQL cluster owned by one Server.
type postgres struct {
	bin     string // directory of initdb, postgres, pg_ctl, psql, pg_isready
	dataDir string
	sockDir string
	logPath string
	port    int
	cred    *syscall.Credential // nil unless we run as root
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has been waited for
}

const (
	dbRole     = "mmuser"
	dbPassword = "mostest"
	dbName     = "mattermost"
)

// startPostgres initialises a cluster under dir and runs it on a free
// loopback port. The postmaster is our direct child (not daemonised by pg_ctl)
// so that the parent-death signal takes it down with the test process.
func startPostgres(ctx context.Context, dir string) (_ *postgres, err error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	p := &postgres{
		bin:     bin,
		dataDir: filepath.Join(dir, "pgdata"),
		sockDir: filepath.Join(dir, "pgsock"),
		logPath: filepath.Join(dir, "postgres.log"),
	}
	if p.cred, err = postgresCredential(); err != nil {
		return nil, err
	}
	for _, d := range []string{p.dataDir, p.sockDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
		if p.cred != nil {
			if err := os.Chown(d, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
				return nil, fmt.Errorf("hand %s to the postgres user: %w", d, err)
			}
		}
	}

	// trust auth is acceptable: the cluster listens on loopback only and
	// lives for one test run. -N skips fsync, which dominates initdb time.
	if out, err := p.command(ctx, "initdb", "-D", p.dataDir, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "-N").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}

	if p.port, err = FreePort(); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create postgres log: %w", err)
	}
	defer logFile.Close()
	// Durability is pointless for a throwaway database and costs seconds on
	// every Mattermost schema migration.
	p.cmd = p.command(context.Background(), "postgres", "-D", p.dataDir,
		"-p", strconv.Itoa(p.port), "-h", "127.0.0.1", "-k", p.sockDir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=150")
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run postgres: %w", err)
	}
	p.done = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	defer func() {
		if err != nil {
			p.stop()
		}
	}()

	readyCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = poll(readyCtx, pollInterval, func() (bool, error) {
		select {
		case <-p.done:
			return false, stopPolling{errors.New("postgres exited")}
		default:
		}
		out, err := p.command(readyCtx, "pg_isready", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(p.port)).CombinedOutput()
		if err != nil {
			return false, fmt.Errorf("pg_isready: %w %s", err, out)
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("wait for postgres on port %d: %w\n%s", p.port, err, tailFile(p.logPath, 20))
	}

	// The database must be owned by the role: PostgreSQL 15 no longer lets
	// ordinary roles create tables in another owner's public schema.
	if out, err := p.command(ctx, "psql", "-h", p.sockDir, "-p", strconv.Itoa(p.port), "-U", "postgres",
		"-d", "postgres", "-X", "-v", "ON_ERROR_STOP=1", "-q",
		"-c", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", dbRole, dbPassword),
		"-c", fmt.Sprintf("CREATE DATABASE %s OWNER %s", dbName, dbRole),
	).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("create database: %w\n%s", err, out)
	}
	return p, nil
}

// dataSource is the DSN of the database, straight to PostgreSQL (Mattermost
// connects through the server's DBProxy instead).
func (p *postgres) dataSource() string {
	return dataSourceAt(p.addr())
}

// addr is the cluster's TCP host:port.
func (p *postgres) addr() string {
	return fmt.Sprintf("127.0.0.1:%d", p.port)
}

// stop shuts the cluster down without a checkpoint (immediate mode): its data
// is about to be deleted anyway.
func (p *postgres) stop() error {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, stopErr := p.command(ctx, "pg_ctl", "stop", "-D", p.dataDir, "-m", "immediate", "-w", "-t", "10").CombinedOutput()
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	if stopErr != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", stopErr, out)
	}
	return errors.New("postgres ignored pg_ctl stop; killed it")
}

// command prepares a PostgreSQL tool to run as the cluster's owner.
func (p *postgres) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, tool), args...)
	// Pdeathsig survives the uid switch because Go sets it after setuid.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: p.cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	return cmd
}

// postgresCredential returns who runs the cluster: initdb and postgres refuse
// to run as root, so as root they run as the OS user "postgres".
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the OS user postgres to run PostgreSQL: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid of postgres: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid of postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// postgresBinDir finds the server binaries, which Debian keeps off PATH:
// $PG_BIN, then the newest /usr/lib/postgresql/*/bin, then PATH.
func postgresBinDir() (string, error) {
	if dir := os.Getenv("PG_BIN"); dir != "" {
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path), nil
	}
	return "", errors.New("find PostgreSQL: no initdb under /usr/lib/postgresql/*/bin or on PATH (set PG_BIN)")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// tailFile returns the last n lines of a file, for error messages.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%s unreadable: %v)", path, err)
	}
	return tailLines(string(b), n)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
