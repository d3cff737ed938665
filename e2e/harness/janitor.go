package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tempPrefix names every server's temp dir, so leftovers can be found.
const tempPrefix = "incident-bot-e2e-"

// ownerFile in a server's temp dir names the process that owns it. A test
// process killed outright (SIGKILL, a go test timeout) takes its servers down
// through the parent-death signal but cannot remove their temp dirs; the next
// Start does, once their owner is gone.
const ownerFile = "owner"

func writeOwner(dir string) error {
	pid := os.Getpid()
	content := fmt.Sprintf("%d %s\n", pid, procStartTime(pid))
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(content), 0o644); err != nil {
		return fmt.Errorf("record temp dir owner: %w", err)
	}
	return nil
}

// removeStaleDirs deletes server temp dirs whose owning process has exited.
// Dirs without an owner file are never touched: they are being created, or
// were kept on purpose (Options.Keep).
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pidStr, start, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || (start != "" && procStartTime(pid) == start) {
			continue
		}
		// This can fail while the dead run's PostgreSQL is still going
		// down; a later Start retries.
		if err := os.RemoveAll(dir); err != nil {
			progressf("could not yet remove %s, left behind by an earlier run (pid %d): %v", dir, pid, err)
			continue
		}
		progressf("removed %s, left behind by an earlier run (pid %d)", dir, pid)
	}
}
