package archivefile

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/boltstore"
)

const (
	alice = "aliceaaaaaaaaaaaaaaaaaaaaa" // 26 characters, as Mattermost ids are
	bob   = "bobbbbbbbbbbbbbbbbbbbbbbbb"
	chan1 = "chan1ccccccccccccccccccccc"
	team1 = "team1ttttttttttttttttttttt"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// sample writes an archive of n incidents with events each and returns
// its path.
func sample(t testing.TB, n, events int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.incidents")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		inc := &incident.Incident{ID: fmt.Sprintf("inc%04d", i), Title: "Checkout down", Severity: incident.S2, TeamID: team1,
			ChannelID: fmt.Sprintf("chan%022d", i), Roles: map[incident.Role]string{incident.RoleIM: alice, incident.RoleL1: bob}}
		ev0 := inc.Start(t0.Add(time.Duration(i)*time.Hour), alice)
		tl := []incident.Event{ev0}
		for j := 1; j < events; j++ {
			tl = append(tl, incident.NewEvent(ev0.At.Add(time.Duration(j)*time.Second), bob, incident.EventNote, fmt.Sprintf("note %d for <@%s>", j, alice)))
		}
		for j := range tl {
			tl[j].Seq = j
		}
		if err := w.AddIncident(t.Context(), inc, tl); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddDoc(t.Context(), "rota/v1", []byte(`{"members":{"im":["`+alice+`"]}}`)); err != nil {
		t.Fatal(err)
	}
	dir := archive.NewDirectory()
	dir.Users[alice] = archive.User{Username: "alice"}
	dir.Users[bob] = archive.User{Username: "bob"}
	dir.Teams[team1] = archive.Team{Name: "ops"}
	if _, err := w.Finish(archive.Meta{ExportedAt: t0, ExportedBy: "admin"}, dir, []byte(`{"DisplayTimeZone":"Europe/Berlin"}`)); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRoundTrip(t *testing.T) {
	path := sample(t, 3, 40)
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Version != archive.Version || a.Meta.Incidents != 3 || a.Meta.Events != 120 || a.Meta.Docs != 1 || a.Meta.ExportedBy != "admin" {
		t.Fatalf("meta = %+v (version %d)", a.Meta, a.Version)
	}
	if a.Directory.Users[alice].Username != "alice" || a.Directory.Teams[team1].Name != "ops" {
		t.Fatalf("directory = %+v", a.Directory)
	}
	if !strings.Contains(string(a.Settings), "Europe/Berlin") {
		t.Fatalf("settings = %s", a.Settings)
	}
	list, err := a.Store().ListSince(t.Context(), time.Time{})
	if err != nil || len(list) != 3 || list[0].ID != "inc0002" {
		t.Fatalf("ListSince = %d incidents, %v", len(list), err)
	}
	tl, err := a.Store().Timeline(t.Context(), "inc0001")
	if err != nil || len(tl) != 40 || tl[39].Seq != 39 || !strings.Contains(tl[39].Text, alice) {
		t.Fatalf("Timeline = %d events, %v", len(tl), err)
	}
	names, err := a.DocNames(t.Context(), "rota/")
	if err != nil || len(names) != 1 {
		t.Fatalf("DocNames = %v, %v", names, err)
	}
	// Read-only: nothing can change the archive.
	if err := a.Store().CreateIncident(t.Context(), &incident.Incident{ID: "x", ChannelID: "c", CreatedAt: t0}); err == nil {
		t.Fatal("an opened archive accepted a write")
	}
	// The file stays a bbolt database that any bbolt tool opens, and holds
	// its pages and the trailer, nothing more.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("bbolt cannot open the archive: %v", err)
	}
	defer db.Close()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.View(func(tx *bolt.Tx) error {
		if used := tx.Size(); info.Size() != used+trailerLen {
			t.Errorf("the file is %d bytes for %d bytes of pages and a %d-byte trailer", info.Size(), used, trailerLen)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestWriterMentions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.incidents")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	inc := &incident.Incident{ID: "i1", Title: "x", Severity: incident.S3, TeamID: team1, ChannelID: chan1,
		CardPostID: "post1ppppppppppppppppppppp"} // a post: not mentioned
	ev := inc.Start(t0, alice)
	if err := w.AddIncident(t.Context(), inc, []incident.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if err := w.AddDoc(t.Context(), "actions/v1/i1", []byte(`{"items":[{"owner":"`+bob+`"}]}`)); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(w.Mentioned(), ",")
	if got != strings.Join([]string{alice, bob, chan1, team1}, ",") {
		t.Fatalf("Mentioned = %s", got)
	}
	if _, err := Create(path); err == nil {
		t.Fatal("Create over an existing file succeeded")
	}
}

func TestOpenRefusesBadFiles(t *testing.T) {
	good, err := os.ReadFile(sample(t, 2, 5))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(good)
	_ = zw.Close()
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	newer := bytes.Clone(good)
	newer[len(newer)-trailerLen+19] = archive.Version + 1
	plain := filepath.Join(dir, "plain.db")
	st, err := boltstore.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	plainBytes, _ := os.ReadFile(plain)
	cases := []struct {
		name string
		data []byte
		want error
		say  string
	}{
		{"empty", nil, ErrNotArchive, "empty"},
		{"text", []byte("hello, this is not an archive at all"), ErrNotArchive, "not a bbolt database"},
		{"json", []byte(`{"incidents": []}` + strings.Repeat(" ", 30)), ErrNotArchive, "JSON"},
		{"gzip", gz.Bytes(), ErrNotArchive, "gzip"},
		{"truncated", good[:len(good)/2], ErrDamaged, "cut short"},
		{"truncated trailer", good[:len(good)-10], ErrDamaged, "cut short"},
		{"flipped bit", flipped, ErrDamaged, "checksum"},
		{"newer", newer, ErrNewer, "upgrade"},
		{"foreign bbolt", plainBytes, ErrDamaged, "did not make"},
		{"extended", append(bytes.Clone(good), 0), ErrDamaged, "cut short"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Open(write(strings.ReplaceAll(c.name, " ", "_"), c.data))
			if err == nil {
				a.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.say) {
				t.Fatalf("error %q; want %v saying %q", err, c.want, c.say)
			}
		})
	}
}

// FuzzOpen feeds Open damaged archives: a good archive with bytes
// overwritten at some offset, or cut short there. It must return an error
// of a known kind or a readable archive, and never panic or fault. The
// fuzzer mutates the damage, not the 64 KB file, so that it runs at full
// speed.
func FuzzOpen(f *testing.F) {
	good, err := os.ReadFile(sample(f, 2, 5))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(0, []byte{}, false)
	f.Add(len(good)/2, []byte{1}, false)
	f.Add(len(good)-trailerLen+19, []byte{9}, false)
	f.Add(len(good)-trailerLen, []byte("incident-archivX"), false)
	f.Add(16, []byte{0xed, 0xda, 0x0c, 0xed}, false)
	f.Add(100, []byte{}, true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, at int, patch []byte, cut bool) {
		data := bytes.Clone(good)
		at = ((at % len(data)) + len(data)) % len(data)
		if cut {
			data = data[:at]
		} else {
			copy(data[at:], patch)
		}
		path := filepath.Join(dir, "fuzz.incidents")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := Open(path)
		if err != nil {
			if !errors.Is(err, ErrNotArchive) && !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrNewer) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		defer a.Close()
		if !bytes.Equal(data, good) {
			t.Fatalf("a damaged archive opened (%d bytes at %d, cut %v)", len(patch), at, cut)
		}
		if _, err := a.Store().ListSince(t.Context(), time.Time{}); err != nil {
			t.Fatalf("an archive that opened cannot be listed: %v", err)
		}
		if _, err := json.Marshal(a.Meta); err != nil {
			t.Fatal(err)
		}
	})
}
