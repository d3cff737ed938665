package archivefile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/boltstore"
)

// Writer builds an archive file: an archive.Writer. Abort removes a file
// that will not be finished. It is not safe for concurrent use.
type Writer struct {
	path  string
	store *boltstore.Store
	seen  map[string]struct{}
	meta  archive.Meta
}

var _ archive.Writer = (*Writer)(nil)

// Create starts a new archive at path, which must not exist.
func Create(path string) (*Writer, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("create archive %s: the file exists", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("create archive %s: %w", path, err)
	}
	// One fsync at the end instead of one per incident: a file that was
	// not finished is incomplete anyway, and is removed.
	st, err := boltstore.OpenWith(path, boltstore.Options{NoSync: true})
	if err != nil {
		return nil, fmt.Errorf("create archive: %w", err)
	}
	return &Writer{path: path, store: st, seen: map[string]struct{}{}}, nil
}

func (w *Writer) note(raw []byte) {
	archive.Mentions(raw, func(id string) { w.seen[id] = struct{}{} })
}

// AddIncident adds an incident and its whole timeline, as they are.
func (w *Writer) AddIncident(ctx context.Context, inc *incident.Incident, events []incident.Event) error {
	if err := w.store.ImportIncident(ctx, inc, events); err != nil {
		return fmt.Errorf("archive incident %s: %w", inc.ShortRef(), err)
	}
	raw, _ := json.Marshal(inc) // ImportIncident encoded it already
	w.note(raw)
	for _, e := range events {
		raw, _ := json.Marshal(e)
		w.note(raw)
	}
	w.meta.Incidents++
	w.meta.Events += len(events)
	return nil
}

// AddDoc adds a document under its store name.
func (w *Writer) AddDoc(ctx context.Context, name string, raw []byte) error {
	ok, err := w.store.CompareAndSetDoc(ctx, name, nil, raw)
	if err != nil {
		return fmt.Errorf("archive document %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("archive document %s: added twice", name)
	}
	w.note(raw)
	w.meta.Docs++
	return nil
}

// Mentioned returns every id-shaped token in what was added, sorted: the
// ids the directory should name (some are post ids, which it does not).
func (w *Writer) Mentioned() []string {
	ids := make([]string, 0, len(w.seen))
	for id := range w.seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Finish writes the metadata, the directory and the settings, syncs and
// closes the file, and returns the metadata as written (counts and
// digest filled in). settings is JSON, or nil.
func (w *Writer) Finish(meta archive.Meta, dir *archive.Directory, settings []byte) (archive.Meta, error) {
	meta.Incidents, meta.Events, meta.Docs = w.meta.Incidents, w.meta.Events, w.meta.Docs
	if dir == nil {
		dir = archive.NewDirectory()
	}
	if settings == nil {
		settings = []byte("{}")
	}
	dirRaw, err := json.Marshal(dir)
	if err != nil {
		return meta, fmt.Errorf("finish archive: encode directory: %w", err)
	}
	err = w.store.Bolt().Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(archiveBucket)
		if err != nil {
			return err
		}
		metaRaw, err := json.Marshal(meta)
		if err != nil {
			return err
		}
		for k, v := range map[string][]byte{string(formatKey): []byte(archive.FormatName), string(versionKey): []byte(strconv.Itoa(archive.Version)),
			string(metaKey): metaRaw, string(directoryKey): dirRaw, string(settingsKey): settings} {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	// bbolt grows its file ahead of its data, by up to 16 MB; the pages
	// past the last one in use are cut off before the trailer goes on.
	var used int64
	if err == nil {
		err = w.store.Bolt().View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	}
	if cerr := w.store.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Truncate(w.path, used)
	}
	if err == nil {
		err = seal(w.path)
	}
	if err != nil {
		_ = os.Remove(w.path)
		return meta, fmt.Errorf("finish archive: %w", err)
	}
	return meta, nil
}

// Abort closes and removes an unfinished archive.
func (w *Writer) Abort() {
	_ = w.store.Close()
	_ = os.Remove(w.path)
}
