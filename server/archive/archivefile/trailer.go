package archivefile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"io"
	"os"
)

// Every archive ends with a trailer after the bbolt database: a magic
// string, the format version, the database's length and its SHA-256.
// bbolt ignores bytes past its last page, so the file stays a bbolt
// database that any bbolt tool opens, while a reader checks the version
// and the checksum before bbolt sees a byte: bbolt maps the file into
// memory and trusts its page pointers, so a damaged file must never reach
// it.
//
//	magic    16 bytes  "incident-archive"
//	version   4 bytes  big-endian
//	reserved  4 bytes  zero (checked)
//	length    8 bytes  big-endian: the bytes before the trailer
//	sha256   32 bytes  of those bytes
const trailerLen = 64

var trailerMagic = []byte("incident-archive")

type trailer struct {
	version uint32
	length  uint64
	sum     [sha256.Size]byte
}

func (t trailer) encode() []byte {
	b := make([]byte, 0, trailerLen)
	b = append(b, trailerMagic...)
	b = binary.BigEndian.AppendUint32(b, t.version)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint64(b, t.length)
	return append(b, t.sum[:]...)
}

// seal appends the trailer to the finished database at path.
func seal(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	t := trailer{version: archive.Version, length: uint64(n)}
	h.Sum(t.sum[:0])
	if _, err := f.Write(t.encode()); err != nil {
		return err
	}
	return f.Sync()
}

// verify checks the trailer of the file at path and the checksum of what
// precedes it, and returns the format version.
func verify(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open archive: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("open archive: %w", err)
	}
	size := info.Size()
	if size == 0 {
		return 0, fmt.Errorf("%w: the file is empty", ErrNotArchive)
	}
	if err := sniff(f); err != nil {
		return 0, err
	}
	end := make([]byte, trailerLen)
	if size < trailerLen {
		return 0, fmt.Errorf("%w: it is cut short (%d bytes); copy it again from the original", ErrDamaged, size)
	}
	if _, err := f.ReadAt(end, size-trailerLen); err != nil {
		return 0, fmt.Errorf("open archive: %w", err)
	}
	if !bytes.Equal(end[:16], trailerMagic) {
		return 0, fmt.Errorf("%w: its end is missing, so it was cut short (or it is a bbolt database that /incident archive export did not make); copy it again from the original", ErrDamaged)
	}
	t := trailer{version: binary.BigEndian.Uint32(end[16:]), length: binary.BigEndian.Uint64(end[24:])}
	copy(t.sum[:], end[32:])
	if t.version > archive.Version {
		return 0, fmt.Errorf("%w: it has format version %d and this version of Incident Bot reads up to %d; upgrade the plugin (or the incident-archive tool) and try again", ErrNewer, t.version, archive.Version)
	}
	if binary.BigEndian.Uint32(end[20:]) != 0 {
		return 0, fmt.Errorf("%w: its trailer is damaged; copy it again from the original", ErrDamaged)
	}
	if t.version < 1 {
		return 0, fmt.Errorf("%w: its format version is 0", ErrDamaged)
	}
	if t.length != uint64(size-trailerLen) {
		return 0, fmt.Errorf("%w: it should hold %d bytes before its trailer and holds %d (cut short or spliced); copy it again from the original", ErrDamaged, t.length, size-trailerLen)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("open archive: %w", err)
	}
	h := sha256.New()
	if _, err := io.CopyN(h, f, int64(t.length)); err != nil {
		return 0, fmt.Errorf("open archive: %w", err)
	}
	if !bytes.Equal(h.Sum(nil), t.sum[:]) {
		return 0, fmt.Errorf("%w: its checksum does not match (changed or damaged after export); copy it again from the original", ErrDamaged)
	}
	return int(t.version), nil
}

// sniff refuses files that are clearly not bbolt databases, naming what
// they look like instead.
func sniff(f *os.File) error {
	head := make([]byte, 20)
	n, _ := f.ReadAt(head, 0)
	if n == len(head) && binary.LittleEndian.Uint32(head[16:]) == boltMagic {
		return nil
	}
	head = head[:n]
	what := "it is not a bbolt database"
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		what = "it is gzip-compressed: unpack it first"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		what = "it is a zip file: unpack it first"
	case bytes.HasPrefix(bytes.TrimSpace(head), []byte("{")) || bytes.HasPrefix(bytes.TrimSpace(head), []byte("[")):
		what = "it is JSON, not a bbolt database"
	}
	return fmt.Errorf("%w: %s; use the .incidents file that /incident archive export made", ErrNotArchive, what)
}
