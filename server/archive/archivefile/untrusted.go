package archivefile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

// An archive that arrives from outside (sent to the bot, uploaded) is
// untrusted: the trailer's checksum proves only that nothing changed since
// whoever made the file sealed it, and bbolt memory-maps the file and
// trusts its page headers, so a crafted page faults on read (SIGBUS), which
// no recover catches in a goroutine other than the guarded one. So the
// plugin never maps such a file itself. OpenUntrusted has a child process
// of the same binary read it (ChildMain) and write what it read, record by
// record, into a new archive through the ordinary writer; a fault takes
// down only the child, and the plugin opens the child's file, whose pages
// bbolt itself laid out.

// Limits bound what an untrusted archive may hold and cost.
type Limits struct {
	MaxBytes     int64         // the file
	MaxIncidents int           // incidents
	MaxEvents    int           // events of one incident
	MaxDocs      int           // documents
	MaxDocBytes  int           // one document, or the directory or settings
	MaxMemory    int64         // the child's soft memory limit
	Timeout      time.Duration // the whole conversion
}

// DefaultLimits take a year of a busy installation many times over: about
// 150 MB for 10,000 incidents with their timelines.
var DefaultLimits = Limits{
	MaxBytes:     512 << 20,
	MaxIncidents: 200_000,
	MaxEvents:    100_000,
	MaxDocs:      1_000_000,
	MaxDocBytes:  8 << 20,
	MaxMemory:    1 << 30,
	Timeout:      5 * time.Minute,
}

// ErrLimit: the archive holds more than the limits let this server take.
var ErrLimit = errors.New("the archive is larger than this server takes")

// childEnv marks a process started to convert an archive.
const childEnv = "INCIDENT_BOT_ARCHIVE_CHILD"

// executable is the binary OpenUntrusted runs as the child: the running
// one (the plugin, the offline tool, a test binary), whose main calls
// ChildMain first.
var executable = os.Executable

// childRequest is what the parent sends the child on its stdin.
type childRequest struct {
	In     string `json:"in"`
	Out    string `json:"out"`
	Limits Limits `json:"limits"`
}

// childResult is what the child answers on its stdout.
type childResult struct {
	OK    bool   `json:"ok"`
	Kind  string `json:"kind,omitempty"` // not_archive, damaged, newer, limit
	Error string `json:"error,omitempty"`
}

// OpenUntrusted opens an archive that came from outside, at path: it is
// checked and rewritten by a child process (see above) and the rewrite is
// opened; Close removes it. Errors wrap ErrNotArchive, ErrDamaged, ErrNewer
// or ErrLimit and say what to do.
func OpenUntrusted(ctx context.Context, path string, lim Limits) (*Archive, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open archive: %w", err)
	}
	if info.Size() > lim.MaxBytes {
		return nil, fmt.Errorf("%w: the file is %s, more than the %s this server takes", ErrLimit, SizeText(info.Size()), SizeText(lim.MaxBytes))
	}
	// The trailer and checksum first, in this process: they read the
	// file as bytes, and most damage ends here with its precise message.
	if _, err := verify(path); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "incident-archive-checked-")
	if err != nil {
		return nil, fmt.Errorf("open archive: %w", err)
	}
	out := filepath.Join(dir, "checked.incidents")
	if err := convertInChild(ctx, path, out, lim); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	a, err := Open(out)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("open the checked archive: %w", err)
	}
	a.cleanup = func() { _ = os.RemoveAll(dir) }
	return a, nil
}

// Check checks the file at path as far as can be done without reading it
// as a database: its trailer (an archive, of a version this code reads)
// and its checksum. Errors say what to do, as Open's do.
func Check(path string) error {
	_, err := verify(path)
	return err
}

func convertInChild(ctx context.Context, in, out string, lim Limits) error {
	exe, err := executable()
	if err != nil {
		return fmt.Errorf("open archive: find this program to check it with: %w", err)
	}
	req, err := json.Marshal(childRequest{In: in, Out: out, Limits: lim})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), childEnv+"=convert")
	cmd.Stdin = bytes.NewReader(req)
	var stdout bytes.Buffer
	stderr := &headBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	runErr := cmd.Run()
	var res childResult
	if json.Unmarshal(lastLine(stdout.Bytes()), &res) == nil && (res.OK || res.Kind != "") {
		if res.OK && runErr == nil {
			return nil
		}
		msg := strings.ReplaceAll(res.Error, in, "the file")
		if res.Kind == "damaged" {
			msg += ". Export it again from the original server, or copy the file again"
		}
		return fmt.Errorf("%w: %s", kindErr(res.Kind), msg)
	}
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: reading it took longer than %s; export it again from the original server, or in parts with --since", ErrLimit, lim.Timeout)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	// The child died reading it: a crafted or corrupt page.
	why := strings.TrimSpace(firstLine(stderr.String()))
	if why == "" && runErr != nil {
		why = runErr.Error()
	}
	return fmt.Errorf("%w: reading it stopped the archive checker (%s); its checksum matches, so it was altered and sealed again, or made by another program: export it again from the original server", ErrDamaged, why)
}

func kindErr(kind string) error {
	switch kind {
	case "not_archive":
		return ErrNotArchive
	case "newer":
		return ErrNewer
	case "limit":
		return ErrLimit
	}
	return ErrDamaged
}

// ChildMain converts an archive and exits, when this process was started
// for that by OpenUntrusted; otherwise it returns at once. Every main
// that opens untrusted archives calls it first.
func ChildMain() {
	if os.Getenv(childEnv) != "convert" {
		return
	}
	os.Exit(runChild(os.Stdin, os.Stdout))
}

func runChild(in io.Reader, out io.Writer) int {
	var req childRequest
	res := childResult{OK: true}
	if err := json.NewDecoder(io.LimitReader(in, 1<<20)).Decode(&req); err != nil {
		res = childResult{Kind: "damaged", Error: "bad request to the archive checker: " + err.Error()}
	} else {
		if req.Limits.MaxMemory > 0 {
			debug.SetMemoryLimit(req.Limits.MaxMemory)
		}
		if err := convert(context.Background(), req.In, req.Out, req.Limits); err != nil {
			res = childResult{Kind: errKind(err), Error: strings.TrimPrefix(err.Error(), kindErr(errKind(err)).Error()+": ")}
		}
	}
	b, _ := json.Marshal(res)
	_, _ = out.Write(append(b, '\n'))
	if !res.OK {
		return 3
	}
	return 0
}

func errKind(err error) string {
	switch {
	case errors.Is(err, ErrNotArchive):
		return "not_archive"
	case errors.Is(err, ErrNewer):
		return "newer"
	case errors.Is(err, ErrLimit):
		return "limit"
	}
	return "damaged"
}

// convert reads the archive at in, record by record within lim, and
// writes what it read into a new archive at out.
func convert(ctx context.Context, in, out string, lim Limits) (err error) {
	src, err := Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	if len(src.Settings) > lim.MaxDocBytes {
		return fmt.Errorf("%w: its settings are %s, more than %s", ErrLimit, SizeText(int64(len(src.Settings))), SizeText(int64(lim.MaxDocBytes)))
	}
	if n := len(src.Directory.Users) + len(src.Directory.Channels) + len(src.Directory.Teams); n > lim.MaxIncidents*10 {
		return fmt.Errorf("%w: its directory names %d users, channels and teams", ErrLimit, n)
	}
	w, err := Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	err = guarded(func() error {
		st := src.Store()
		list, err := st.ListSince(ctx, time.Time{})
		if err != nil {
			return fmt.Errorf("%w: its incidents cannot be listed (%v)", ErrDamaged, err)
		}
		if len(list) > lim.MaxIncidents {
			return fmt.Errorf("%w: it holds %d incidents, more than the %d this server takes at once; export in parts with --since", ErrLimit, len(list), lim.MaxIncidents)
		}
		for _, inc := range list {
			events, err := st.Timeline(ctx, inc.ID)
			if err != nil {
				return fmt.Errorf("%w: the timeline of incident %s cannot be read (%v)", ErrDamaged, inc.ShortRef(), err)
			}
			if len(events) > lim.MaxEvents {
				return fmt.Errorf("%w: incident %s has %d events, more than %d", ErrLimit, inc.ShortRef(), len(events), lim.MaxEvents)
			}
			if err := w.AddIncident(ctx, inc, events); err != nil {
				return fmt.Errorf("%w: %v", ErrDamaged, err)
			}
		}
		names, err := src.DocNames(ctx, "")
		if err != nil {
			return fmt.Errorf("%w: its documents cannot be listed (%v)", ErrDamaged, err)
		}
		if len(names) > lim.MaxDocs {
			return fmt.Errorf("%w: it holds %d documents, more than %d", ErrLimit, len(names), lim.MaxDocs)
		}
		for _, name := range names {
			raw, err := st.GetDoc(ctx, name)
			if err != nil {
				return fmt.Errorf("%w: document %q cannot be read (%v)", ErrDamaged, name, err)
			}
			if len(raw) > lim.MaxDocBytes {
				return fmt.Errorf("%w: document %q is %s, more than %s", ErrLimit, name, SizeText(int64(len(raw))), SizeText(int64(lim.MaxDocBytes)))
			}
			if err := w.AddDoc(ctx, name, bytes.Clone(raw)); err != nil {
				return fmt.Errorf("%w: %v", ErrDamaged, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = w.Finish(src.Meta, src.Directory, src.Settings)
	return err
}

// SizeText shows a size as the limits' messages do: in KiB below 1 MiB,
// else in MiB, rounded up.
func SizeText(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KiB", (n+1023)>>10)
	}
	return fmt.Sprintf("%d MiB", (n+(1<<20)-1)>>20)
}

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// headBuffer keeps the first max bytes written to it: a crashing child's
// first line says why, and its goroutine dump can be long.
type headBuffer struct {
	max int
	buf bytes.Buffer
}

func (t *headBuffer) Write(p []byte) (int, error) {
	if room := t.max - t.buf.Len(); room > 0 {
		t.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (t *headBuffer) String() string { return t.buf.String() }
