package app

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"
)

// A timer index says which records the tick must look at, and from when.
// It is a time wheel: an entry (record id -> due time in Unix
// milliseconds) lives in the bucket of its due time (a minute wide), each
// bucket spread over a few shard documents, and a cursor remembers the
// oldest bucket that may still hold entries. A tick reads the buckets from
// the cursor to now: what is due and what was touched in the last minutes,
// never the entries of records due later, so its cost follows the work
// due, not the number of open incidents or pending pages. An entry is a
// hint; the record decides. The one rule the writers keep: a record that
// may need work has an entry no later than when it needs it. Early or
// stale entries are harmless: the tick reads the record, finds nothing due
// and moves the entry on.
//
// Two indexes use it: pages (escalations and re-notifications, see
// page_due.go) and incidents (follow-up work and status update reminders,
// see followup.go).
type timerIndex struct {
	prefix string // document name prefix, "page/v2/due/"
	shards int    // documents per bucket
	// legacy names the v1 index (shard documents of every entry) that
	// dueBy moves into the wheel once, and its shard count.
	legacy       string
	legacyShards int
}

var (
	pageTimers = timerIndex{prefix: "page/v2/due/", shards: 2, legacy: "page/v1/due/", legacyShards: 8}
	workTimers = timerIndex{prefix: "work/v2/due/", shards: 4}
)

const (
	// bucketWidth is the span of due times one bucket holds.
	bucketWidth = time.Minute
	// cursorLag keeps the cursor this far behind the tick's clock, so that
	// an entry written by a node whose clock is behind (less than this)
	// still lands at or after the cursor.
	cursorLag = 2 * time.Minute
	// maxBucketsPerTick bounds the buckets one tick reads, so that a
	// cursor left far behind (a cluster stopped for a day) catches up over
	// a few ticks; the buckets of the last few minutes are read anyway.
	maxBucketsPerTick = 30
	recentBuckets     = 4
)

// slot is where an entry is: its bucket and due time (ms). The zero slot
// means "unknown": nothing is removed for it.
type slot struct {
	bucket, at int64
}

// bucketOf is the bucket of due time ms.
func bucketOf(ms int64) int64 { return ms / bucketWidth.Milliseconds() }

// placeAt is the slot of an entry due at ms written at now: an entry
// already due goes into now's bucket, which every tick reads until the
// cursor passes it.
func placeAt(ms int64, now time.Time) slot {
	return slot{bucket: bucketOf(max(ms, now.UnixMilli())), at: ms}
}

// doc names shard i of bucket b.
func (x timerIndex) doc(b int64, i int) string {
	return x.prefix + strconv.FormatInt(b, 10) + "/" + strconv.Itoa(i)
}

func (x timerIndex) cursorDoc() string { return x.prefix + "cursor" }

// shard returns the shard that holds the entries of id.
func (x timerIndex) shard(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(x.shards))
}

// timerShard is one shard document of a bucket.
type timerShard struct {
	Due map[string]int64 `json:"due"`
}

// timerCursor is the oldest bucket that may hold entries.
type timerCursor struct {
	Bucket int64 `json:"bucket"`
}

// dueEntry is one entry read from the index.
type dueEntry struct {
	id string
	slot
}

// dueChange moves the entry of a record from where it was seen (the zero
// slot: unknown) to next (Unix ms), or drops it if next is 0.
type dueChange struct {
	id   string
	seen slot
	next int64
}

// dueMillis is t as an entry: rounded down, so the entry is never later
// than the record's time.
func dueMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// putEntry sets id's entry in its shard of bucket b to at; fresh, when not
// zero, leaves an entry that is already due and at most that old alone.
func (a *App) putEntry(ctx context.Context, x timerIndex, id string, s slot, fresh time.Duration) (slot, error) {
	out := s
	_, _, err := updateDoc(ctx, a.store, x.doc(s.bucket, x.shard(id)), func(d *timerShard, _ bool) error {
		cur, ok := d.Due[id]
		if ok && cur == s.at {
			return errUnchanged
		}
		if ok && fresh > 0 && cur <= s.at && s.at-cur < fresh.Milliseconds() {
			out.at = cur
			return errUnchanged
		}
		if d.Due == nil {
			d.Due = map[string]int64{}
		}
		d.Due[id] = s.at
		return nil
	})
	if err != nil {
		return slot{}, fmt.Errorf("set timer %s: %w", id, err)
	}
	return out, nil
}

// setTimer gives id an entry due at due (zero: nothing is written; a
// stale entry elsewhere is dropped when the tick reaches it). It returns
// where the entry is.
func (a *App) setTimer(ctx context.Context, x timerIndex, id string, due time.Time) (slot, error) {
	if due.IsZero() {
		return slot{}, nil
	}
	return a.putEntry(ctx, x, id, placeAt(dueMillis(due), a.now()), 0)
}

// touchTimer makes id's entry due now, before a write that leaves the
// record with work to do, and returns where it is. An entry made due
// within the last touchFresh is left as it is: a worker keeps such an
// entry at least until touchGrace after it (see service), which covers the
// write that follows.
func (a *App) touchTimer(ctx context.Context, x timerIndex, id string, now time.Time) (slot, error) {
	return a.putEntry(ctx, x, id, placeAt(now.UnixMilli(), now), touchFresh)
}

// dueBy returns the entries due at or before now: it reads the buckets
// from the cursor to now's, and moves the cursor past the empty buckets
// behind cursorLag.
func (a *App) dueBy(ctx context.Context, x timerIndex, now time.Time) ([]dueEntry, error) {
	if err := a.migrateTimers(ctx, x); err != nil {
		return nil, err
	}
	cur, _, err := loadDoc[timerCursor](ctx, a.store, x.cursorDoc())
	if err != nil {
		return nil, fmt.Errorf("read timer cursor: %w", err)
	}
	// Every entry is placed at or after its writer's now, and the first
	// tick runs as the plugin starts: with no cursor yet, nothing is
	// older than the last few minutes.
	first, last := cur.Bucket, bucketOf(now.UnixMilli())
	if first == 0 {
		first = bucketOf(now.Add(-cursorLag - bucketWidth).UnixMilli())
	}
	var buckets []int64
	for b := first; b <= last; b++ {
		if b-first >= maxBucketsPerTick-recentBuckets && b <= last-recentBuckets {
			b = last - recentBuckets // catching up: skip to the recent ones
			continue
		}
		buckets = append(buckets, b)
	}
	settled := bucketOf(now.Add(-cursorLag).UnixMilli()) // buckets before it take no new entries
	cut := now.UnixMilli()
	var out []dueEntry
	next := first // the new cursor: the first bucket that may hold entries
	for _, b := range buckets {
		empty := true
		for i := range x.shards {
			d, _, err := loadDoc[timerShard](ctx, a.store, x.doc(b, i))
			if err != nil {
				return nil, fmt.Errorf("read timer bucket %s: %w", x.doc(b, i), err)
			}
			for id, at := range d.Due {
				empty = false
				if at <= cut {
					out = append(out, dueEntry{id, slot{b, at}})
				}
			}
		}
		if empty && next == b && b < settled {
			next = b + 1
		}
	}
	if next > first || cur.Bucket == 0 {
		_, _, err := updateDoc(ctx, a.store, x.cursorDoc(), func(c *timerCursor, _ bool) error {
			if c.Bucket >= next {
				return errUnchanged
			}
			c.Bucket = next
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("move timer cursor: %w", err)
		}
	}
	return out, nil
}

// applyTimers applies changes, one write per document touched: an entry
// is removed from where it was seen only if it still holds the value seen
// (so a newer write is never undone), and the next one is added where it
// belongs. A shard left empty is deleted.
func (a *App) applyTimers(ctx context.Context, x timerIndex, changes []dueChange) error {
	type op struct {
		id   string
		seen int64 // remove if it holds this (0: no removal)
		set  int64 // then set to this (0: no set)
	}
	byDoc := map[string][]op{}
	now := a.now()
	for _, c := range changes {
		var to slot
		if c.next != 0 {
			to = placeAt(c.next, now)
		}
		if c.seen.at != 0 && c.seen == to {
			continue // unchanged
		}
		if c.seen.at != 0 {
			d := x.doc(c.seen.bucket, x.shard(c.id))
			byDoc[d] = append(byDoc[d], op{id: c.id, seen: c.seen.at})
		}
		if to.at != 0 {
			d := x.doc(to.bucket, x.shard(c.id))
			byDoc[d] = append(byDoc[d], op{id: c.id, set: to.at})
		}
	}
	var errs []error
	for name, ops := range byDoc {
		_, _, err := updateDoc(ctx, a.store, name, func(d *timerShard, _ bool) error {
			n := 0
			for _, o := range ops {
				cur, ok := d.Due[o.id]
				switch {
				case o.seen != 0 && ok && cur == o.seen:
					delete(d.Due, o.id)
					n++
				case o.set != 0 && !(ok && cur == o.set):
					if d.Due == nil {
						d.Due = map[string]int64{}
					}
					d.Due[o.id] = o.set
					n++
				}
			}
			switch {
			case n == 0:
				return errUnchanged
			case len(d.Due) == 0:
				return errDelete
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("update timer shard %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// migrateTimers moves the entries of x's v1 index into the wheel and
// deletes its documents, once per process.
func (a *App) migrateTimers(ctx context.Context, x timerIndex) error {
	if x.legacy == "" {
		return nil
	}
	if _, done := a.timersMigrated.Load(x.prefix); done {
		return nil
	}
	for i := range x.legacyShards {
		name := x.legacy + strconv.Itoa(i)
		d, ok, err := loadDoc[timerShard](ctx, a.store, name)
		if err != nil || !ok {
			if err != nil {
				return fmt.Errorf("read v1 timer shard %s: %w", name, err)
			}
			continue
		}
		for id, at := range d.Due {
			if _, err := a.putEntry(ctx, x, id, placeAt(at, a.now()), 0); err != nil {
				return err
			}
		}
		if _, _, err := updateDoc(ctx, a.store, name, func(*timerShard, bool) error { return errDelete }); err != nil {
			return fmt.Errorf("remove v1 timer shard %s: %w", name, err)
		}
	}
	a.timersMigrated.Store(x.prefix, true)
	return nil
}
