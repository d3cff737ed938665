package archivefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The test binary is the archive checker of OpenUntrusted in these tests,
// as the plugin binary is in the plugin.
func TestMain(m *testing.M) {
	ChildMain()
	os.Exit(m.Run())
}

func TestUntrustedArchiveReadsAsTheOriginal(t *testing.T) {
	path := sample(t, 3, 40)
	want, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	got, err := OpenUntrusted(t.Context(), path, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta != want.Meta || !reflect.DeepEqual(got.Directory, want.Directory) || string(got.Settings) != string(want.Settings) {
		t.Errorf("meta, directory or settings differ:\n%+v %+v %s\n%+v %+v %s", got.Meta, got.Directory, got.Settings, want.Meta, want.Directory, want.Settings)
	}
	wl, _ := want.Store().ListSince(t.Context(), time.Time{})
	gl, err := got.Store().ListSince(t.Context(), time.Time{})
	if err != nil || !reflect.DeepEqual(gl, wl) {
		t.Fatalf("incidents differ (%v):\n%+v\n%+v", err, gl, wl)
	}
	for _, inc := range wl {
		we, _ := want.Store().Timeline(t.Context(), inc.ID)
		ge, err := got.Store().Timeline(t.Context(), inc.ID)
		if err != nil || !reflect.DeepEqual(ge, we) {
			t.Errorf("timeline of %s differs (%v)", inc.ID, err)
		}
	}
	if raw, err := got.Store().GetDoc(t.Context(), "rota/v1"); err != nil || !strings.Contains(string(raw), alice) {
		t.Errorf("rota document: %s, %v", raw, err)
	}
	copyPath := got.store.Bolt().Path()
	if err := got.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copyPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the checked copy %s is left after Close: %v", copyPath, err)
	}
}

// bbolt page layout (go.etcd.io/bbolt/internal/common/page.go): a 16-byte
// header (id uint64, flags uint16, count uint16, overflow uint32), then
// the elements: leaf 16 bytes each (flags, pos, ksize, vsize uint32),
// branch 16 bytes each (pos, ksize uint32, pgid uint64).
const (
	branchPage = 0x01
	leafPage   = 0x02
)

// crafted returns a copy of the archive at path with mutate applied to
// every page of the given kind, sealed again with a correct trailer: what
// a reviewer built to crash the plugin.
func crafted(t *testing.T, path string, kind uint16, mutate func(page []byte)) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db := data[:len(data)-trailerLen]
	pageSize := int(binary.LittleEndian.Uint32(db[16+8:])) // meta: magic, version, pageSize
	hit := 0
	for off := 2 * pageSize; off+pageSize <= len(db); off += pageSize {
		p := db[off : off+pageSize]
		if binary.LittleEndian.Uint16(p[8:]) == kind {
			mutate(p)
			hit++
		}
	}
	if hit == 0 {
		t.Fatalf("no page of kind %#x in the sample", kind)
	}
	out := filepath.Join(t.TempDir(), "crafted.incidents")
	if err := os.WriteFile(out, db, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := seal(out); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(out); err != nil {
		t.Fatalf("the crafted file's trailer: %v", err)
	}
	return out
}

func TestCraftedArchivesAreRefusedNotFatal(t *testing.T) {
	path := sample(t, 40, 30)
	cases := []struct {
		name   string
		kind   uint16
		mutate func(p []byte)
	}{
		{"leaf counts 0xFFFF", leafPage, func(p []byte) { binary.LittleEndian.PutUint16(p[10:], 0xFFFF) }},
		{"every other leaf's count 0xFFFF", leafPage, func() func(p []byte) {
			n := 0
			return func(p []byte) {
				if n++; n%2 == 0 {
					binary.LittleEndian.PutUint16(p[10:], 0xFFFF)
				}
			}
		}()},
		{"branch counts 0xFFFF", branchPage, func(p []byte) { binary.LittleEndian.PutUint16(p[10:], 0xFFFF) }},
		{"leaf value sizes past the file", leafPage, func(p []byte) {
			for i := 0; 16+i*16+16 <= len(p) && i < int(binary.LittleEndian.Uint16(p[10:])); i++ {
				binary.LittleEndian.PutUint32(p[16+i*16+12:], 0x7FFFFFF0)
			}
		}},
		{"leaf key positions past the file", leafPage, func(p []byte) {
			for i := 0; 16+i*16+16 <= len(p) && i < int(binary.LittleEndian.Uint16(p[10:])); i++ {
				binary.LittleEndian.PutUint32(p[16+i*16+4:], 0x7FFF0000)
			}
		}},
		{"branch children past the file", branchPage, func(p []byte) {
			for i := 0; 16+i*16+16 <= len(p) && i < int(binary.LittleEndian.Uint16(p[10:])); i++ {
				binary.LittleEndian.PutUint64(p[16+i*16+8:], 0xFFFFFFFF)
			}
		}},
		{"overflow 0xFFFFFFFF", leafPage, func(p []byte) { binary.LittleEndian.PutUint32(p[12:], 0xFFFFFFFF) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := crafted(t, path, c.kind, c.mutate)
			a, err := OpenUntrusted(t.Context(), bad, DefaultLimits)
			if err == nil {
				// bbolt may read past a lie it never follows; what it
				// read must then be the archive's own data.
				defer a.Close()
				if l, err := a.Store().ListSince(t.Context(), time.Time{}); err != nil || len(l) > 40 {
					t.Fatalf("a crafted archive opened with %d incidents (%v)", len(l), err)
				}
				return
			}
			if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrNotArchive) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error of no known kind: %v", err)
			}
			t.Logf("refused: %v", err)
		})
	}
}

func TestUntrustedArchiveLimits(t *testing.T) {
	path := sample(t, 5, 10)
	for _, c := range []struct {
		name string
		lim  func(*Limits)
		want string
	}{
		{"bytes", func(l *Limits) { l.MaxBytes = 1000 }, "more than the 1 KiB this server takes"},
		{"incidents", func(l *Limits) { l.MaxIncidents = 4 }, "holds 5 incidents"},
		{"events", func(l *Limits) { l.MaxEvents = 9 }, "has 10 events"},
		{"documents", func(l *Limits) { l.MaxDocs = 0 }, "holds 1 documents"},
		{"time", func(l *Limits) { l.Timeout = time.Nanosecond }, "took longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lim := DefaultLimits
			c.lim(&lim)
			_, err := OpenUntrusted(t.Context(), path, lim)
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrLimit saying %q", err, c.want)
			}
		})
	}
}

// FuzzOpenUntrustedResealed damages bbolt pages anywhere and seals the
// file again, so that only the checker stands between the damage and the
// plugin: the process running OpenUntrusted never dies, and what opens
// reads.
//
//	go test ./server/archive/archivefile -run '^$' -fuzz FuzzOpenUntrustedResealed -fuzztime 10m
func FuzzOpenUntrustedResealed(f *testing.F) {
	good, err := os.ReadFile(sample(f, 12, 20))
	if err != nil {
		f.Fatal(err)
	}
	db := good[:len(good)-trailerLen]
	f.Add(2*4096+10, []byte{0xff, 0xff})
	f.Add(3*4096+12, []byte{0xff, 0xff, 0xff, 0xff})
	f.Add(4*4096+16+4, []byte{0, 0, 0xff, 0x7f})
	f.Add(0, []byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, at int, patch []byte) {
		data := bytes.Clone(db)
		at = ((at % len(data)) + len(data)) % len(data)
		copy(data[at:], patch)
		path := filepath.Join(dir, "fuzz.incidents")
		_ = os.Remove(path)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := seal(path); err != nil {
			t.Fatal(err)
		}
		a, err := OpenUntrusted(t.Context(), path, DefaultLimits)
		if err != nil {
			if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrNotArchive) && !errors.Is(err, ErrNewer) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		defer a.Close()
		list, err := a.Store().ListSince(t.Context(), time.Time{})
		if err != nil {
			t.Fatalf("an archive that opened cannot be listed: %v", err)
		}
		for _, inc := range list {
			if _, err := a.Store().Timeline(t.Context(), inc.ID); err != nil {
				t.Fatalf("an archive that opened cannot be read: %v", err)
			}
		}
	})
}
