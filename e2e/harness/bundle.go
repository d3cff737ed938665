package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildBundle returns the plugin bundle the tests install: the one
// INCIDENT_BOT_BUNDLE names, else the one `make dist-host` builds (the
// bundle a user would build, for this platform).
func BuildBundle(ctx context.Context) (string, error) {
	if b := os.Getenv("INCIDENT_BOT_BUNDLE"); b != "" {
		return b, nil
	}
	return makeBundle(ctx)
}

// BuildVariant builds this checkout's bundle with Go build tags into
// dist/variant-<name>.tar.gz: the rolling-upgrade test runs a bundle built
// with the tag upgradeprobe as the plugin's next version.
func BuildVariant(ctx context.Context, name string, tags ...string) (string, error) {
	return makeBundle(ctx, "HOST_BUNDLE=dist/variant-"+name+".tar.gz", "GOTAGS=-tags="+strings.Join(tags, ","))
}

// makeBundle runs `make dist-host` with the make variables vars and
// returns the bundle it built.
func makeBundle(ctx context.Context, vars ...string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	// go test runs the e2e packages in parallel processes, and each builds
	// the bundle in its setup: one build at a time, so that none packs a
	// binary another is still writing.
	if err := os.MkdirAll(filepath.Join(root, "dist"), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(root, "dist", ".bundle.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	cmd := exec.CommandContext(ctx, "make", append([]string{"--no-print-directory", "dist-host"}, vars...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("make dist-host: %w\n%s", err, out)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "bundle: "); ok {
			return filepath.Join(root, p), nil
		}
	}
	return "", fmt.Errorf("make dist-host printed no bundle path:\n%s", out)
}

// RepoRoot is the directory of the plugin's go.mod.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find repo root: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// BuildAt builds the bundle of commit (any name git knows) of this
// repository, from a copy of its tree in a temporary directory, into
// dist/commit-<commit>.tar.gz, once: the upgrade tests install an older
// version first.
func BuildAt(ctx context.Context, commit string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(root, "dist", "commit-"+commit+".tar.gz")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	dir, err := os.MkdirTemp("", "incident-bot-"+commit+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	archive := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, commit, dir)
	if b, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Errorf("check out %s: %w\n%s", commit, err, b)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "dist-host", "HOST_BUNDLE="+out)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", commit, err, b)
	}
	return out, nil
}
