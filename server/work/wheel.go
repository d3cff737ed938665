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
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
)

// The due index: a time wheel of entries (subject -> due time in Unix ms),
// an entry in the bucket of its due time (a minute wide), each bucket
// spread over a few shard documents, and a directory document naming the
// buckets that hold entries. A tick reads the directory and the buckets
// that are due, nothing else: at rest it costs one read, after an outage
// of days it finds the old entries at once, and its cost follows the work
// that is due, not the number of open incidents. A subject may have
// entries in several buckets; each is a hint, and the subject's handler
// decides.
//
// The directory's one rule: a bucket that holds an entry is listed. A
// writer lists a bucket before writing into it. A tick removes a bucket
// only once it is settled (older than cursorLag: nobody places entries
// there any more) and empty, in two steps: it marks the bucket closing,
// reads its shards again, and removes it only if they are still empty.
// A writer whose write took so long that its bucket may have settled
// meanwhile reads the directory again, and places the entry anew if its
// bucket was closing or gone.
const (
	wheelPrefix = "work/v3/due/"
	dirName     = wheelPrefix + "dir"
	bucketWidth = time.Minute
	shards      = 4
	// cursorLag is how far behind its clock a tick treats buckets as
	// settled: a node whose clock is behind by up to MaxClockSkew places
	// its entries at its own now, which may be that much before the
	// tick's.
	cursorLag = MaxClockSkew + bucketWidth
	// slowWrite is how long a write may take before its writer checks
	// that its bucket is still listed: well under cursorLag-MaxClockSkew.
	slowWrite = 20 * time.Second
	// maxBuckets bounds the buckets one tick reads, oldest first, so that
	// a backlog (a cluster stopped for a day) is worked off over a few
	// ticks.
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

// dirDoc lists the buckets that may hold entries; Closing are those a
// tick is about to remove.
type dirDoc struct {
	Buckets []int64 `json:"buckets"`
	Closing []int64 `json:"closing,omitempty"`
}

func (d *dirDoc) listed(b int64) bool  { return slices.Contains(d.Buckets, b) }
func (d *dirDoc) closing(b int64) bool { return slices.Contains(d.Closing, b) }

func bucketOf(ms int64) int64 { return ms / bucketWidth.Milliseconds() }

func shardOf(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % shards)
}

func shardName(bucket int64, shard int) string {
	return wheelPrefix + strconv.FormatInt(bucket, 10) + "/" + strconv.Itoa(shard)
}

// wheel reads and writes the index.
type wheel struct {
	docs  cas.Docs
	clock Clock
	// listed remembers the buckets this process saw listed and open, so
	// that a write into a bucket needs no read of the directory while
	// the bucket cannot have been closed.
	mu     sync.Mutex
	listed map[int64]bool
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
// already due goes into now's bucket.
func place(ms int64, now time.Time) int64 { return bucketOf(max(ms, now.UnixMilli())) }

// settled is the first bucket that is not settled at now: no writer
// places entries before it any more.
func settled(now time.Time) int64 { return bucketOf(now.Add(-cursorLag).UnixMilli()) }

// list makes sure the buckets are listed and open in the directory, and
// returns those that are closing (their entries go elsewhere).
func (w *wheel) list(ctx context.Context, buckets []int64) (closing []int64, err error) {
	w.mu.Lock()
	if w.listed == nil {
		w.listed = map[int64]bool{}
	}
	var need []int64
	for _, b := range buckets {
		if !w.listed[b] && !slices.Contains(need, b) {
			need = append(need, b)
		}
	}
	w.mu.Unlock()
	if len(need) == 0 {
		return nil, nil
	}
	d, _, err := cas.Update(ctx, w.docs, dirName, func(d *dirDoc, _ bool) error {
		closing = closing[:0]
		add := false
		for _, b := range need {
			switch {
			case d.closing(b):
				closing = append(closing, b)
			case !d.listed(b):
				d.Buckets = append(d.Buckets, b)
				add = true
			}
		}
		if !add {
			return cas.ErrUnchanged
		}
		slices.Sort(d.Buckets)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list buckets in the due index: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range need {
		if d.listed(b) && !d.closing(b) {
			w.listed[b] = true
		}
	}
	// Forget what can no longer be written to.
	cut := settled(w.clock.Now())
	for b := range w.listed {
		if b < cut {
			delete(w.listed, b)
		}
	}
	return closing, nil
}

// stillListed reports whether every bucket is still listed and open: the
// check of a writer whose write was slow.
func (w *wheel) stillListed(ctx context.Context, buckets []int64) (bool, error) {
	d, _, err := cas.Load[dirDoc](ctx, w.docs, dirName)
	if err != nil {
		return false, err
	}
	for _, b := range buckets {
		if !d.listed(b) || d.closing(b) {
			w.mu.Lock()
			delete(w.listed, b)
			w.mu.Unlock()
			return false, nil
		}
	}
	return true, nil
}

// arm writes a fresh entry for subject id due now and returns its due
// time: a value no run can have seen before, so that no run's removal of
// an older entry takes it away.
func (w *wheel) arm(ctx context.Context, id string) (int64, error) {
	for {
		start := w.clock.Now()
		at := start.UnixMilli()
		b := bucketOf(at)
		if _, err := w.list(ctx, []int64{b}); err != nil {
			return 0, err
		}
		out := at
		_, _, err := cas.Update(ctx, w.docs, shardName(b, shardOf(id)), func(d *shardDoc, _ bool) error {
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
		if ok, err := w.confirm(ctx, start, []int64{b}); err != nil || ok {
			return out, err
		}
	}
}

// confirm checks, after a write begun at start into buckets, that they are
// still listed, when the write took long enough for that to be in doubt.
func (w *wheel) confirm(ctx context.Context, start time.Time, buckets []int64) (bool, error) {
	if w.clock.Now().Sub(start) < slowWrite {
		return true, nil
	}
	return w.stillListed(ctx, buckets)
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

// due reads the directory and the listed buckets that are due (the oldest
// maxBuckets), and returns up to limit entries due at or before now,
// oldest first.
func (w *wheel) due(ctx context.Context, limit int) (*snapshot, error) {
	now := w.clock.Now()
	d, _, err := cas.Load[dirDoc](ctx, w.docs, dirName)
	if err != nil {
		return nil, fmt.Errorf("read the due index: %w", err)
	}
	last := bucketOf(now.UnixMilli())
	snap := &snapshot{}
	for _, b := range d.Buckets {
		if b > last || len(snap.buckets) == maxBuckets {
			break
		}
		snap.buckets = append(snap.buckets, b)
	}
	if snap.docs, err = w.read(ctx, snap.buckets); err != nil {
		return nil, err
	}
	cut := now.UnixMilli()
	for i, b := range snap.buckets {
		for s := range shards {
			doc := snap.docs[i*shards+s]
			for id, at := range doc.Due {
				if at > cut {
					continue
				}
				if e, ok := entryOf(id, at, doc.Tries[id], b); ok {
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
	left := map[string]int{}
	for len(changes) > 0 {
		start := w.clock.Now()
		var adds []int64
		for _, c := range changes {
			if c.add != 0 {
				adds = append(adds, place(c.add, start))
			}
		}
		closing, err := w.list(ctx, adds)
		if err != nil {
			return left, err
		}
		// An entry whose bucket is closing (it is settled: the entry is
		// long due) goes into now's bucket instead.
		for i, c := range changes {
			if c.add != 0 && slices.Contains(closing, place(c.add, start)) {
				changes[i].add = start.UnixMilli()
			}
		}
		if len(closing) > 0 {
			if _, err := w.list(ctx, []int64{bucketOf(start.UnixMilli())}); err != nil {
				return left, err
			}
		}
		if err := w.write(ctx, changes, start, left); err != nil {
			return left, err
		}
		// A slow write: make sure its buckets were not closed meanwhile,
		// and place again what went into one that was.
		var again []change
		for _, c := range changes {
			if c.add == 0 {
				continue
			}
			if ok, err := w.confirm(ctx, start, []int64{place(c.add, start)}); err != nil {
				return left, err
			} else if !ok {
				again = append(again, change{id: c.id, add: w.clock.Now().UnixMilli(), tries: c.tries, unique: c.unique})
			}
		}
		changes = again
	}
	return left, nil
}

// write writes changes, one compare-and-set per document, adds first, and
// records in left the entries each document kept.
func (w *wheel) write(ctx context.Context, changes []change, now time.Time, left map[string]int) error {
	type op struct {
		id     string
		remove int64 // remove if it holds this (0: none)
		add    int64 // then set to this (0: none)
		tries  int
		unique bool
	}
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
	return errors.Join(errs...)
}

// prune removes from the directory the buckets the tick read that are
// settled and hold nothing now: left has the entries kept by the
// documents the tick wrote; the others hold what they held when read.
// Each goes in two steps (see the rule above).
func (w *wheel) prune(ctx context.Context, snap *snapshot, left map[string]int) error {
	cut := settled(w.clock.Now())
	var empty []int64
	for _, b := range snap.buckets {
		if b >= cut {
			continue
		}
		n := 0
		for s := range shards {
			k, wrote := left[shardName(b, s)]
			if !wrote {
				k = snap.count(b, s)
			}
			n += k
		}
		if n == 0 {
			empty = append(empty, b)
		}
	}
	if len(empty) == 0 {
		return nil
	}
	if _, _, err := cas.Update(ctx, w.docs, dirName, func(d *dirDoc, _ bool) error {
		for _, b := range empty {
			if d.listed(b) && !d.closing(b) {
				d.Closing = append(d.Closing, b)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("close buckets of the due index: %w", err)
	}
	docs, err := w.read(ctx, empty)
	if err != nil {
		return err
	}
	var gone, reopen []int64
	for i, b := range empty {
		n := 0
		for s := range shards {
			n += len(docs[i*shards+s].Due)
		}
		if n == 0 {
			gone = append(gone, b)
		} else {
			reopen = append(reopen, b) // written meanwhile: it stays
		}
	}
	if _, _, err := cas.Update(ctx, w.docs, dirName, func(d *dirDoc, _ bool) error {
		d.Buckets = slices.DeleteFunc(d.Buckets, func(b int64) bool { return slices.Contains(gone, b) })
		d.Closing = slices.DeleteFunc(d.Closing, func(b int64) bool { return slices.Contains(gone, b) || slices.Contains(reopen, b) })
		if len(d.Closing) == 0 {
			d.Closing = nil
		}
		return nil
	}); err != nil {
		return fmt.Errorf("remove buckets of the due index: %w", err)
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
