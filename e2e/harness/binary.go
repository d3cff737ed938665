package harness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// ServerVersion is the Mattermost release the harness runs: the oldest server
// the plugin claims to support, so that tests prove the plugin against it.
const ServerVersion = "6.7.2"

const serverModule = "github.com/mattermost/mattermost-server/v6"

// Install is a built Mattermost server ready to run.
type Install struct {
	// Binary is the mattermost server executable.
	Binary string
	// Dir holds i18n/, templates/ and fonts/, which the server looks up
	// relative to its working directory.
	Dir string
}

// assetDirs are what the server needs beside its binary to serve the REST API.
// The webapp (client/) is not needed; its absence costs one harmless log line.
var assetDirs = []string{"i18n", "templates", "fonts"}

const (
	binaryName = "mattermost"
	markerName = ".complete"
)

// EnsureServerBinary returns the cached Mattermost server build, building it
// first if needed. A cold build downloads about 1.2 GB of modules and takes
// minutes, so the result is cached per machine under
// os.UserCacheDir()/incident-bot-e2e/mattermost-v6.7.2 and keyed by the
// content of the e2e/mmserver module: editing that module rebuilds.
//
// Concurrent callers (parallel test binaries) serialise on a lock file, so only
// one of them builds. The marker file is written last: a build interrupted
// half-way is never mistaken for a finished one.
func EnsureServerBinary(ctx context.Context) (Install, error) {
	modDir, err := mmserverDir()
	if err != nil {
		return Install{}, err
	}
	key, err := buildKey(modDir)
	if err != nil {
		return Install{}, err
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		return Install{}, fmt.Errorf("locate user cache dir: %w", err)
	}
	base := filepath.Join(cacheRoot, "incident-bot-e2e")
	dir := filepath.Join(base, "mattermost-v"+ServerVersion)
	inst := Install{Binary: filepath.Join(dir, binaryName), Dir: dir}

	if installComplete(dir, key) {
		return inst, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return Install{}, fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return Install{}, err
	}
	defer unlock()
	// Another process may have finished the build while we waited.
	if installComplete(dir, key) {
		return inst, nil
	}
	if err := buildInstall(ctx, modDir, dir, key); err != nil {
		return Install{}, err
	}
	return inst, nil
}

func installComplete(dir, key string) bool {
	b, err := os.ReadFile(filepath.Join(dir, markerName))
	return err == nil && strings.TrimSpace(string(b)) == key
}

func buildInstall(ctx context.Context, modDir, dir, key string) error {
	// Start from nothing: leftovers of an interrupted build are not trusted.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear stale server cache: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create server cache: %w", err)
	}
	start := time.Now()
	progressf("building Mattermost v%s server into %s (cold: ~4 min and ~1.2 GB of modules; cached afterwards)", ServerVersion, dir)
	// -checklinkname=0: Go 1.23+ refuses the old golang.org/x/net's linkname
	// to syscall.recvmsg otherwise. -mod=readonly: go.sum is seeded from the
	// upstream release and must stay the source of truth; the checksum
	// database does not know github.com/lieut-data/squirrel. -buildvcs=false:
	// the module sits inside the plugin's repository, whose VCS state is
	// irrelevant and may be unreadable (no commits yet, not a checkout).
	cmd := exec.CommandContext(ctx, "go", "build", "-mod=readonly", "-buildvcs=false",
		"-ldflags=-checklinkname=0", "-o", filepath.Join(dir, binaryName), ".")
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	// One writer for both streams: exec then copies them from a single
	// goroutine, so the buffer needs no lock.
	var out bytes.Buffer
	w := io.MultiWriter(&out, os.Stderr)
	cmd.Stdout, cmd.Stderr = w, w
	if err := runWithHeartbeat(cmd, start); err != nil {
		return fmt.Errorf("build mattermost server in %s: %w\n%s", modDir, err, tailLines(out.String(), 30))
	}

	srcDir, err := serverModuleDir(ctx, modDir)
	if err != nil {
		return err
	}
	for _, d := range assetDirs {
		if err := copyTree(filepath.Join(srcDir, d), filepath.Join(dir, d)); err != nil {
			return fmt.Errorf("copy server assets %s: %w", d, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, markerName), []byte(key+"\n"), 0o644); err != nil {
		return fmt.Errorf("write build marker: %w", err)
	}
	progressf("built Mattermost v%s server in %s", ServerVersion, time.Since(start).Round(time.Second))
	return nil
}

// runWithHeartbeat runs cmd and reports every 30 s that it is still going, so a
// quiet multi-minute build is not mistaken for a hang.
func runWithHeartbeat(cmd *exec.Cmd, start time.Time) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			progressf("still building the Mattermost server (%s so far)", time.Since(start).Round(time.Second))
		}
	}
}

// serverModuleDir asks the go command where the server module lives, which
// honours GOMODCACHE and GOFLAGS=-modcacherw setups alike.
func serverModuleDir(ctx context.Context, modDir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-mod=readonly", "-m", "-f", "{{.Dir}}", serverModule)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("locate %s in the module cache: %w", serverModule, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("locate %s in the module cache: not downloaded", serverModule)
	}
	return dir, nil
}

// mmserverDir finds the e2e/mmserver module next to this package's source.
// The source path is known at compile time; when it is not usable (a -trimpath
// build), the current directory's enclosing main module is tried instead.
func mmserverDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "..", "mmserver")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Clean(dir), nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			dir := filepath.Join(filepath.Dir(gomod), "e2e", "mmserver")
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir, nil
			}
		}
	}
	return "", errors.New("locate e2e/mmserver module: run from inside the plugin repository")
}

// buildKey fingerprints the mmserver module so that a cached binary built from
// other sources (an older go.mod, say) is rebuilt rather than silently reused.
func buildKey(modDir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "mattermost v%s\n", ServerVersion)
	for _, name := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join(modDir, name))
		if err != nil {
			return "", fmt.Errorf("fingerprint mmserver module: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// lockFile takes an exclusive flock on path, waiting for ctx. flock is
// released by the kernel when the holder dies, so a killed build never leaves
// the lock stuck.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open build lock: %w", err)
	}
	fd := int(f.Fd())
	announced := false
	err = poll(ctx, 250*time.Millisecond, func() (bool, error) {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return false, err
		}
		if !announced {
			announced = true
			progressf("another process is building the Mattermost server; waiting for %s", path)
		}
		return false, nil
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("take build lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	}, nil
}

// copyTree copies regular files and directories; the module cache is
// read-only, so copies get fresh writable permissions.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// progressf reports slow harness work on stderr, which `go test -v` streams
// live; t.Log would only show it after the test finishes.
func progressf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "harness: "+format+"\n", args...)
}
