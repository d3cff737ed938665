package work

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
)

// The due index: a time wheel of entries (subject -> due time in Unix ms),
// an entry in the bucket of its due time (a minute wide), each bucket
// spread over a few shard documents, and a cursor naming the oldest bucket
// that may hold entries. A subject may have entries in several buckets;
// each is a hint, and the subject's handler decides.
const (
	wheelPrefix = "work/v3/due/"
	bucketWidth = time.Minute
	shards      = 4
	// cursorLag keeps the cursor this far behind the tick's clock: a node
	// whose clock is behind by up to MaxClockSkew places its entries at
	// its own now, which may be that much before the tick's.
	cursorLag = MaxClockSkew + bucketWidth
	// maxBuckets bounds the buckets one tick reads beyond the recent ones,
	// so that a cursor left far behind (a cluster stopped for a day)
	// catches up over a few ticks, oldest first.
	maxBuckets = 30
	// readers is how many index documents a tick reads at once.
	readers = 4
)

// Entry is one entry of the index.
type Entry struct {
	Kind, Key string
	// At is the due time, Unix ms.
	At int64
	// Tries counts the failed runs in a row that led to this entry.
	Tries  int
	bucket int64
}

// Due is the entry's due time.
func (e Entry) Due() time.Time { return time.UnixMilli(e.At) }

func (e Entry) id() string { return e.Kind + ":" + e.Key }

func entryOf(id string, at int64, tries int, bucket int64) (Entry, bool) {
	kind, key, ok := strings.Cut(id, ":")
	return Entry{Kind: kind, Key: key, At: at, Tries: tries, bucket: bucket}, ok
}

// shardDoc is one shard of a bucket.
type shardDoc struct {
	Due   map[string]int64 `json:"due"`
	Tries map[string]int   `json:"tries,omitempty"`
}

type cursorDoc struct {
	Bucket int64 `json:"bucket"`
}

func bucketOf(ms int64) int64 { return ms / bucketWidth.Milliseconds() }

func shardOf(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % shards)
}

func shardName(bucket int64, shard int) string {
	return wheelPrefix + strconv.FormatInt(bucket, 10) + "/" + strconv.Itoa(shard)
}

const cursorName = wheelPrefix + "cursor"

// wheel reads and writes the index.
type wheel struct {
	docs  cas.Docs
	clock Clock
	// cursorSeen is set once this process saw the cursor exist: before
	// its first write it makes sure of that, so that a tick that comes
	// long after the first entries were written still starts from them.
	cursorSeen atomic.Bool
}

// ensureCursor creates the cursor, if there is none yet, at the bucket
// a first tick would start from now.
func (w *wheel) ensureCursor(ctx context.Context) error {
	if w.cursorSeen.Load() {
		return nil
	}
	first := bucketOf(w.clock.Now().Add(-cursorLag).UnixMilli()) - 1
	_, _, err := cas.Update(ctx, w.docs, cursorName, func(c *cursorDoc, exists bool) error {
		if exists {
			return cas.ErrUnchanged
		}
		c.Bucket = first
		return nil
	})
	if err != nil {
		return fmt.Errorf("create the due index cursor: %w", err)
	}
	w.cursorSeen.Store(true)
	return nil
}

// change is one edit of the index: remove the entry seen (if set, and only
// if it still holds the value seen), then add one (if set).
type change struct {
	id     string
	seen   *Entry
	add    int64 // due time, ms; 0: none
	tries  int
	unique bool // the added value must differ from the one it replaces (arms)
}

// place is the bucket an entry due at ms goes into, written at now: one
// already due goes into now's bucket, which every tick reads until the
// cursor passes it.
func place(ms int64, now time.Time) int64 { return bucketOf(max(ms, now.UnixMilli())) }

// arm writes a fresh entry for subject id due now and returns its due
// time: a value no run can have seen before, so that no run's removal of
// an older entry takes it away.
func (w *wheel) arm(ctx context.Context, id string) (int64, error) {
	if err := w.ensureCursor(ctx); err != nil {
		return 0, err
	}
	now := w.clock.Now()
	at := now.UnixMilli()
	name := shardName(place(at, now), shardOf(id))
	out := at
	_, _, err := cas.Update(ctx, w.docs, name, func(d *shardDoc, _ bool) error {
		out = at
		if cur, ok := d.Due[id]; ok && cur == at {
			out = at + 1
		}
		if d.Due == nil {
			d.Due = map[string]int64{}
		}
		d.Due[id] = out
		delete(d.Tries, id)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("arm %s in the due index: %w", id, err)
	}
	return out, nil
}

// snapshot is what one read of the index saw.
type snapshot struct {
	buckets []int64
	docs    []*shardDoc // shards per bucket, in order
	entries []Entry     // due, oldest first, at most the limit
	more    bool        // due entries were left unread
}

// count is how many entries shard s of bucket b held when read.
func (s *snapshot) count(b int64, shard int) int {
	i := slices.Index(s.buckets, b)
	if i < 0 {
		return 0
	}
	return len(s.docs[i*shards+shard].Due)
}

// due reads the buckets from the cursor to now and returns up to limit
// entries due at or before now, oldest first.
func (w *wheel) due(ctx context.Context, limit int) (*snapshot, error) {
	now := w.clock.Now()
	cur, _, err := cas.Load[cursorDoc](ctx, w.docs, cursorName)
	if err != nil {
		return nil, fmt.Errorf("read the due index cursor: %w", err)
	}
	last := bucketOf(now.UnixMilli())
	recent := bucketOf(now.Add(-cursorLag).UnixMilli()) - 1
	first := cur.Bucket
	if first == 0 || first > last {
		first = recent
	}
	snap := &snapshot{}
	for b := first; b <= last; b++ {
		if b >= first+maxBuckets && b < recent {
			b = recent - 1 // catching up: the oldest first, and the recent ones always
			continue
		}
		snap.buckets = append(snap.buckets, b)
	}
	if snap.docs, err = w.read(ctx, snap.buckets); err != nil {
		return nil, err
	}
	cut := now.UnixMilli()
	for i, b := range snap.buckets {
		for s := range shards {
			d := snap.docs[i*shards+s]
			for id, at := range d.Due {
				if at > cut {
					continue
				}
				if e, ok := entryOf(id, at, d.Tries[id], b); ok {
					snap.entries = append(snap.entries, e)
				}
			}
		}
	}
	slices.SortFunc(snap.entries, func(x, y Entry) int {
		if x.At != y.At {
			if x.At < y.At {
				return -1
			}
			return 1
		}
		return strings.Compare(x.id(), y.id())
	})
	if len(snap.entries) > limit {
		snap.entries, snap.more = snap.entries[:limit], true
	}
	return snap, nil
}

// read reads every shard of the buckets, a few at a time.
func (w *wheel) read(ctx context.Context, buckets []int64) ([]*shardDoc, error) {
	out := make([]*shardDoc, len(buckets)*shards)
	errs := make([]error, len(out))
	sem := make(chan struct{}, readers)
	var wg sync.WaitGroup
	for i := range out {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			name := shardName(buckets[i/shards], i%shards)
			d, _, err := cas.Load[shardDoc](ctx, w.docs, name)
			if err != nil {
				errs[i] = fmt.Errorf("read %s: %w", name, err)
				return
			}
			out[i] = d
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// apply makes changes, one write per document touched; documents that
// gain entries are written before those that only lose some, so that a
// run's successor is in the index before the entry it was dispatched from
// goes. It returns the number of entries left in each document written.
func (w *wheel) apply(ctx context.Context, changes []change) (map[string]int, error) {
	type op struct {
		id     string
		remove int64 // remove if it holds this (0: none)
		add    int64 // then set to this (0: none)
		tries  int
		unique bool
	}
	if len(changes) > 0 {
		if err := w.ensureCursor(ctx); err != nil {
			return nil, err
		}
	}
	now := w.clock.Now()
	byDoc := map[string][]op{}
	adds := map[string]bool{}
	for _, c := range changes {
		if c.seen != nil {
			name := shardName(c.seen.bucket, shardOf(c.id))
			byDoc[name] = append(byDoc[name], op{id: c.id, remove: c.seen.At})
		}
		if c.add != 0 {
			name := shardName(place(c.add, now), shardOf(c.id))
			byDoc[name] = append(byDoc[name], op{id: c.id, add: c.add, tries: c.tries, unique: c.unique})
			adds[name] = true
		}
	}
	names := make([]string, 0, len(byDoc))
	for name := range byDoc {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if adds[a] != adds[b] {
			if adds[a] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	left := map[string]int{}
	var errs []error
	for _, name := range names {
		ops := byDoc[name]
		d, _, err := cas.Update(ctx, w.docs, name, func(d *shardDoc, _ bool) error {
			n := 0
			for _, o := range ops {
				cur, ok := d.Due[o.id]
				if o.remove != 0 && ok && cur == o.remove {
					delete(d.Due, o.id)
					delete(d.Tries, o.id)
					ok = false
					n++
				}
				if o.add == 0 || ok && cur <= o.add && !o.unique {
					continue // an earlier entry brings the subject back anyway
				}
				at := o.add
				if o.unique && ok && cur == at {
					at++
				}
				if d.Due == nil {
					d.Due = map[string]int64{}
				}
				d.Due[o.id] = at
				if o.tries > 0 {
					if d.Tries == nil {
						d.Tries = map[string]int{}
					}
					d.Tries[o.id] = o.tries
				} else {
					delete(d.Tries, o.id)
				}
				n++
			}
			switch {
			case n == 0:
				return cas.ErrUnchanged
			case len(d.Due) == 0:
				return cas.ErrDelete
			}
			if len(d.Tries) == 0 {
				d.Tries = nil
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("update %s: %w", name, err))
			continue
		}
		left[name] = len(d.Due)
	}
	return left, errors.Join(errs...)
}

// advance moves the cursor past the buckets read that are settled (older
// than cursorLag) and now hold nothing: left has the entries kept by the
// documents the tick wrote; the others hold what they held when read.
func (w *wheel) advance(ctx context.Context, snap *snapshot, left map[string]int) error {
	if len(snap.buckets) == 0 {
		return nil
	}
	settled := bucketOf(w.clock.Now().Add(-cursorLag).UnixMilli())
	first := snap.buckets[0]
	next := first
	for _, b := range snap.buckets {
		if b != next || b >= settled {
			break
		}
		empty := true
		for s := range shards {
			n, wrote := left[shardName(b, s)]
			if !wrote {
				n = snap.count(b, s)
			}
			if n > 0 {
				empty = false
				break
			}
		}
		if !empty {
			break
		}
		next = b + 1
	}
	if next == first {
		return nil
	}
	_, _, err := cas.Update(ctx, w.docs, cursorName, func(c *cursorDoc, _ bool) error {
		if c.Bucket >= next {
			return cas.ErrUnchanged
		}
		c.Bucket = next
		return nil
	})
	if err != nil {
		return fmt.Errorf("move the due index cursor: %w", err)
	}
	return nil
}

// EntriesOf returns the entries of subject key of kind in the buckets from
// from to to, oldest first: for tests and diagnostics, never hot paths (it
// reads every shard of every bucket in the span).
func EntriesOf(ctx context.Context, docs cas.Docs, kind, key string, from, to time.Time) ([]Entry, error) {
	w := &wheel{docs: docs}
	var buckets []int64
	for b := bucketOf(from.UnixMilli()); b <= bucketOf(to.UnixMilli()); b++ {
		buckets = append(buckets, b)
	}
	read, err := w.read(ctx, buckets)
	if err != nil {
		return nil, err
	}
	id := kind + ":" + key
	var out []Entry
	for i, d := range read {
		if at, ok := d.Due[id]; ok {
			out = append(out, Entry{Kind: kind, Key: key, At: at, Tries: d.Tries[id], bucket: buckets[i/shards]})
		}
	}
	slices.SortFunc(out, func(x, y Entry) int { return int(x.At - y.At) })
	return out, nil
}
