package app

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"
)

// A timer index says which records the tick must look at, and from when:
// a few small shard documents (record id -> due time in Unix
// milliseconds), so that a tick costs one read per shard whatever the
// number of records, and no key scan. An entry is a hint; the record
// decides. The one rule the writers keep: a record that may need work has
// an entry no later than when it needs it. Early entries are harmless (the
// tick reads the record, finds nothing due and moves the entry on).
//
// Two indexes use it: pages (escalations and re-notifications, see
// page_due.go) and incidents (follow-up work and status update reminders,
// see followup.go).
type timerIndex struct {
	prefix string // document name prefix, "page/v1/due/"
	shards int
}

var (
	pageTimers = timerIndex{prefix: "page/v1/due/", shards: 8}
	workTimers = timerIndex{prefix: "work/v1/due/", shards: 16}
)

// doc names shard i.
func (x timerIndex) doc(i int) string { return x.prefix + strconv.Itoa(i) }

// shard returns the shard that holds the entry of id.
func (x timerIndex) shard(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(x.shards))
}

// timerShard is one shard document.
type timerShard struct {
	Due map[string]int64 `json:"due"`
}

// dueEntry is one entry: record id and due time in Unix milliseconds.
type dueEntry struct {
	id string
	at int64
}

// dueChange moves the entry of a record from seen (the value read) to
// next, or drops it if next is 0.
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

// setTimer sets the entry of id to due, or drops it if due is zero.
func (a *App) setTimer(ctx context.Context, x timerIndex, id string, due time.Time) error {
	at := dueMillis(due)
	_, _, err := updateDoc(ctx, a.store, x.doc(x.shard(id)), func(d *timerShard, _ bool) error {
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
		return fmt.Errorf("set timer %s: %w", id, err)
	}
	return nil
}

// touchTimer makes the entry of id due now, before a write that leaves the
// record with work to do. An entry made due within the last touchFresh is
// left as it is: a worker keeps such an entry at least until touchGrace
// after it (see serviceTimer), which covers the write that follows.
func (a *App) touchTimer(ctx context.Context, x timerIndex, id string, now time.Time) error {
	at := now.UnixMilli()
	_, _, err := updateDoc(ctx, a.store, x.doc(x.shard(id)), func(d *timerShard, _ bool) error {
		if cur, ok := d.Due[id]; ok && cur <= at && at-cur < touchFresh.Milliseconds() {
			return errUnchanged
		}
		if d.Due == nil {
			d.Due = map[string]int64{}
		}
		d.Due[id] = at
		return nil
	})
	if err != nil {
		return fmt.Errorf("set timer %s: %w", id, err)
	}
	return nil
}

// timerEntry returns the entry of id (0: none).
func (a *App) timerEntry(ctx context.Context, x timerIndex, id string) (int64, error) {
	d, _, err := loadDoc[timerShard](ctx, a.store, x.doc(x.shard(id)))
	if err != nil {
		return 0, fmt.Errorf("read timer %s: %w", id, err)
	}
	return d.Due[id], nil
}

// dueBy returns the entries due at or before now, from every shard.
func (a *App) dueBy(ctx context.Context, x timerIndex, now time.Time) ([]dueEntry, error) {
	cut := now.UnixMilli()
	var out []dueEntry
	for i := range x.shards {
		d, _, err := loadDoc[timerShard](ctx, a.store, x.doc(i))
		if err != nil {
			return nil, fmt.Errorf("read timer shard %s: %w", x.doc(i), err)
		}
		for id, at := range d.Due {
			if at <= cut {
				out = append(out, dueEntry{id, at})
			}
		}
	}
	return out, nil
}

// applyTimers applies changes, one write per shard touched. An entry
// changes only if it still holds the value its change saw, so a newer
// write is never undone.
func (a *App) applyTimers(ctx context.Context, x timerIndex, changes []dueChange) error {
	byShard := map[int][]dueChange{}
	for _, c := range changes {
		if c.seen != c.next {
			byShard[x.shard(c.id)] = append(byShard[x.shard(c.id)], c)
		}
	}
	var errs []error
	for shard, cs := range byShard {
		_, _, err := updateDoc(ctx, a.store, x.doc(shard), func(d *timerShard, _ bool) error {
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
			errs = append(errs, fmt.Errorf("update timer shard %s: %w", x.doc(shard), err))
		}
	}
	return errors.Join(errs...)
}
