package plugin_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// TestCraftedArchiveIsRefusedAndThePluginRuns sends the bot archives whose
// bbolt pages were altered and whose trailer was sealed again with a
// correct checksum, as a reviewer crashed the plugin with (fatal error:
// fault, SIGBUS, on the first read): each is refused with a clear answer,
// and the same plugin process keeps serving.
func TestCraftedArchiveIsRefusedAndThePluginRuns(t *testing.T) {
	ctx := ctxT(t)
	file := syntheticArchive(t, 200, 20)
	pids := srv.PluginProcesses(pluginID)
	if len(pids) == 0 {
		t.Fatal("no plugin process")
	}

	everyOther := func(mutate func(p []byte)) func(p []byte) {
		n := 0
		return func(p []byte) {
			if n++; n%2 == 0 {
				mutate(p)
			}
		}
	}
	for _, c := range []struct {
		name   string
		kind   uint16
		mutate func(p []byte)
	}{
		{"leaf counts 0xFFFF", boltLeaf, func(p []byte) { binary.LittleEndian.PutUint16(p[10:], 0xFFFF) }},
		{"every other leaf count 0xFFFF", boltLeaf, everyOther(func(p []byte) { binary.LittleEndian.PutUint16(p[10:], 0xFFFF) })},
		{"leaf values past the file", boltLeaf, everyOther(func(p []byte) {
			for i := 0; 16+i*16+16 <= len(p) && i < int(binary.LittleEndian.Uint16(p[10:])); i++ {
				binary.LittleEndian.PutUint32(p[16+i*16+12:], 0x7FFFFFF0)
			}
		})},
		{"branch children past the file", boltBranch, func(p []byte) {
			for i := 0; 16+i*16+16 <= len(p) && i < int(binary.LittleEndian.Uint16(p[10:])); i++ {
				binary.LittleEndian.PutUint64(p[16+i*16+8:], 0xFFFFFFF)
			}
		}},
	} {
		// The incident records' pages: read after the archive opened, in
		// the reading goroutines; a branch names no titles.
		marker := []byte(craftMarker)
		if c.kind == boltBranch {
			marker = nil
		}
		bad, n := craftArchive(file, c.kind, c.mutate, marker)
		if n == 0 {
			t.Logf("%s: the archive has no such page; skipped", c.name)
			continue
		}
		answer := harness.PostText(sendArchive(t, ctx, srv, srv.Admin, bad, "damaged"))
		if got := srv.PluginProcesses(pluginID); !slices.Equal(got, pids) {
			t.Fatalf("%s: the plugin's processes were %v and are %v: it died on the archive", c.name, pids, got)
		}
		if !strings.Contains(answer, "Export it again") {
			t.Errorf("%s: the answer says not what to do: %q", c.name, answer)
		}
		t.Logf("%s (%d pages): %s", c.name, n, answer)
	}
	// And it still works.
	mustContain(t, "list", cmd(t, srv.Users[0], srv.TownSquare.Id, "/incident list").Text, "ncident")
}

// bbolt page kinds (flags in a page's 16-byte header: id uint64, flags
// uint16, count uint16, overflow uint32).
const (
	boltBranch = 0x01
	boltLeaf   = 0x02
)

// craftMarker is in every incident title of a synthetic archive: the pages
// that hold it are incident records, read after the archive opened.
const craftMarker = "Crafted incident"

// syntheticArchive writes an archive of n incidents with events each, as
// an export of another server would hold, and returns its bytes.
func syntheticArchive(t *testing.T, n, events int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "synthetic.incidents")
	w, err := archivefile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	user := srv.Users[0].Id
	for i := range n {
		inc := &incident.Incident{ID: fmt.Sprintf("crf%04d", i), Title: fmt.Sprintf("%s %d", craftMarker, i), Severity: incident.S3,
			TeamID: srv.Team.Id, ChannelID: fmt.Sprintf("crafted%019d", i)}
		tl := []incident.Event{inc.Start(at.Add(time.Duration(i)*time.Hour), user)}
		for j := 1; j < events; j++ {
			tl = append(tl, incident.NewEvent(tl[0].At.Add(time.Duration(j)*time.Second), user, incident.EventNote, fmt.Sprintf("note %d", j)))
		}
		for j := range tl {
			tl[j].Seq = j
		}
		if err := w.AddIncident(t.Context(), inc, tl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Finish(archive.Meta{ExportedAt: at, ExportedBy: "admin"}, archive.NewDirectory(), nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// craftArchive applies mutate to the pages of the given kind of the
// archive file's bbolt database (those that hold marker, when set) and
// seals it again: the trailer (see server/archive/archivefile/trailer.go)
// gets the new SHA-256. It returns the file and how many pages it
// changed.
func craftArchive(file []byte, kind uint16, mutate func(page []byte), marker []byte) ([]byte, int) {
	const trailerLen = 64
	db := bytes.Clone(file[:len(file)-trailerLen])
	pageSize := int(binary.LittleEndian.Uint32(db[24:]))
	n := 0
	for off := 2 * pageSize; off+pageSize <= len(db); off += pageSize {
		if p := db[off : off+pageSize]; binary.LittleEndian.Uint16(p[8:]) == kind && (marker == nil || bytes.Contains(p, marker)) {
			mutate(p)
			n++
		}
	}
	trailer := bytes.Clone(file[len(file)-trailerLen:])
	binary.BigEndian.PutUint64(trailer[24:], uint64(len(db)))
	sum := sha256.Sum256(db)
	copy(trailer[32:], sum[:])
	return append(db, trailer...), n
}
