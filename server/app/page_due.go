package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// The due index: which pages the timer must look at, and from when.
//
// It is a few small shard documents (page id -> due time in Unix
// milliseconds), so that a tick costs dueShards reads whatever the number
// of pages, and no key scan. An entry is a hint; the page record decides.
// The one rule the writers keep: a page that may still need a
// notification has an entry no later than its record's Due. Early entries
// are harmless (the tick reads the record, finds nothing due and moves the
// entry on), so:
//
//   - a new page's entry is written before its record;
//   - after a notification the claimant moves the entry to the record's
//     new Due, which it has just written;
//   - the tick moves or drops an entry only if it still holds the value the
//     tick read (a compare per entry), so it never undoes a newer write;
//   - entries of acknowledged or closed pages, and of records that never
//     appeared, are dropped.
const (
	// dueShards is the number of shard documents.
	dueShards = 8
	// orphanGrace is how long an entry without a record is kept: its page
	// may be being created right now.
	orphanGrace = time.Minute
)

// dueDoc names shard i of the due index.
func dueDoc(i int) string { return "page/v1/due/" + strconv.Itoa(i) }

// dueShard returns the shard that holds the entry of page id.
func dueShard(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % dueShards)
}

// dueIndex is one shard of the due index.
type dueIndex struct {
	Due map[string]int64 `json:"due"`
}

// dueEntry is one entry: page id and due time in Unix milliseconds.
type dueEntry struct {
	id string
	at int64
}

// dueChange moves the entry of a page from seen (the value read) to next,
// or drops it if next is 0.
type dueChange struct {
	id         string
	seen, next int64
}

// dueMillis is t as an entry: rounded down, so the entry is never later
// than the record's time.
func dueMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// scheduleDue sets the entry of page id to due, or drops it if due is zero.
func (a *App) scheduleDue(ctx context.Context, id string, due time.Time) error {
	at := dueMillis(due)
	_, _, err := updateDoc(ctx, a.store, dueDoc(dueShard(id)), func(d *dueIndex, _ bool) error {
		if cur, ok := d.Due[id]; ok && cur == at || !ok && at == 0 {
			return errUnchanged
		}
		if at == 0 {
			delete(d.Due, id)
			return nil
		}
		if d.Due == nil {
			d.Due = map[string]int64{}
		}
		d.Due[id] = at
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule page %s: %w", id, err)
	}
	return nil
}

// dueEntries reads every shard of the due index.
func (a *App) dueEntries(ctx context.Context) ([]dueEntry, error) {
	var out []dueEntry
	for i := range dueShards {
		d, _, err := loadDoc[dueIndex](ctx, a.store, dueDoc(i))
		if err != nil {
			return nil, fmt.Errorf("read due index shard %d: %w", i, err)
		}
		for id, at := range d.Due {
			out = append(out, dueEntry{id, at})
		}
	}
	return out, nil
}

// applyDue applies the tick's changes, one write per shard touched. An
// entry changes only if it still holds the value the tick read.
func (a *App) applyDue(ctx context.Context, changes []dueChange) error {
	byShard := map[int][]dueChange{}
	for _, c := range changes {
		if c.seen != c.next {
			byShard[dueShard(c.id)] = append(byShard[dueShard(c.id)], c)
		}
	}
	var errs []error
	for shard, cs := range byShard {
		_, _, err := updateDoc(ctx, a.store, dueDoc(shard), func(d *dueIndex, _ bool) error {
			n := 0
			for _, c := range cs {
				if cur, ok := d.Due[c.id]; !ok || cur != c.seen {
					continue
				}
				if c.next == 0 {
					delete(d.Due, c.id)
				} else {
					d.Due[c.id] = c.next
				}
				n++
			}
			if n == 0 {
				return errUnchanged
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("update due index shard %d: %w", shard, err))
		}
	}
	return errors.Join(errs...)
}

// createDoc stores v as the new document name and reports whether it was
// absent (false: the name is taken, nothing was written).
func createDoc[T any](ctx context.Context, d incident.Docs, name string, v *T) (bool, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("encode %s: %w", name, err)
	}
	return d.CompareAndSetDoc(ctx, name, nil, b)
}
