package archivefile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/boltstore"
)

// The ways an archive can be refused (see package archive).
var (
	ErrNotArchive = archive.ErrNotArchive
	ErrDamaged    = archive.ErrDamaged
	ErrNewer      = archive.ErrNewer
)

// Archive is an archive opened for reading. Its store is read-only.
type Archive struct {
	Meta      archive.Meta
	Version   int
	Directory *archive.Directory
	// Settings are the exporting server's plugin settings, secrets
	// removed, as JSON.
	Settings json.RawMessage
	store    *boltstore.Store
	cleanup  func() // after Close: removes a checked copy (OpenUntrusted)
}

// boltMagic opens every bbolt file, in its first meta page, after the
// 16-byte page header.
const boltMagic = 0xED0CDAED

// Open opens and checks the archive at path: its trailer (format version
// and checksum) first, then its metadata. Whatever is wrong with the file,
// it returns an error wrapping ErrNotArchive, ErrDamaged or ErrNewer that
// says what to do, and never panics.
func Open(path string) (*Archive, error) {
	version, err := verify(path)
	if err != nil {
		return nil, err
	}
	var a *Archive
	err = guarded(func() error {
		st, err := boltstore.OpenWith(path, boltstore.Options{ReadOnly: true})
		if err != nil {
			return fmt.Errorf("%w: bbolt cannot open it (%v)", ErrDamaged, err)
		}
		a = &Archive{store: st, Version: version}
		if err := a.load(); err != nil {
			_ = st.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// guarded runs fn with memory faults turned into panics, and panics into
// an ErrDamaged error.
func guarded(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: reading it failed (%v)", ErrDamaged, r)
		}
	}()
	return fn()
}

// load reads the metadata, the directory and the settings.
func (a *Archive) load() error {
	return a.store.Bolt().View(func(tx *bolt.Tx) error {
		b := tx.Bucket(archiveBucket)
		if b == nil || string(b.Get(formatKey)) != archive.FormatName {
			return fmt.Errorf("%w: it is a bbolt database, but not one /incident archive export made", ErrNotArchive)
		}
		if v, err := strconv.Atoi(string(b.Get(versionKey))); err != nil || v != a.Version {
			return fmt.Errorf("%w: its format version %q does not match its trailer's %d", ErrDamaged, b.Get(versionKey), a.Version)
		}
		if err := json.Unmarshal(b.Get(metaKey), &a.Meta); err != nil {
			return fmt.Errorf("%w: its description cannot be read (%v)", ErrDamaged, err)
		}
		a.Directory = archive.NewDirectory()
		if err := json.Unmarshal(b.Get(directoryKey), a.Directory); err != nil {
			return fmt.Errorf("%w: its directory cannot be read (%v)", ErrDamaged, err)
		}
		a.Settings = json.RawMessage(bytes.Clone(b.Get(settingsKey)))
		return nil
	})
}

// Store is the archive's content as a read-only incident.Store: whatever
// reads the plugin's store reads the archive the same way.
func (a *Archive) Store() incident.Store { return a.store }

// DocNames returns the names of the archive's documents that start with
// prefix.
func (a *Archive) DocNames(ctx context.Context, prefix string) ([]string, error) {
	return a.store.DocNames(ctx, prefix)
}

// Source is the archive as its readers take it.
func (a *Archive) Source() archive.Source {
	return archive.Source{Meta: a.Meta, Directory: a.Directory, Store: a.store}
}

// Close closes the file (and removes it, when OpenUntrusted made it).
func (a *Archive) Close() error {
	err := a.store.Close()
	if a.cleanup != nil {
		a.cleanup()
	}
	return err
}
