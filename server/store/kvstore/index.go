package kvstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// idSet is an index document: a small set of ids (or months) with a
// revision. The revision changes on every write, even one that leaves the
// set as it was: syncActive relies on that to make a concurrent writer that
// decided on an older record lose its compare-and-set.
type idSet struct {
	Rev int64    `json:"r"`
	IDs []string `json:"ids"`
}

func (set *idSet) put(id string, member bool) {
	i := slices.Index(set.IDs, id)
	switch {
	case member && i < 0:
		set.IDs = append(set.IDs, id)
	case !member && i >= 0:
		set.IDs = slices.Delete(set.IDs, i, i+1)
	}
}

// editSet applies edit to the index document at key with compare-and-set,
// re-reading and re-applying it when another writer got there first. edit
// reports whether to write at all.
func (s *Store) editSet(ctx context.Context, key, what string, edit func(*idSet) (bool, error)) error {
	return editIndex(ctx, s, key, what, edit)
}

// revised is an index document whose revision every write bumps.
type revised[T any] interface {
	*T
	bump()
}

func (set *idSet) bump()      { set.Rev++ }
func (sh *activeShard) bump() { sh.Rev++ }

// editIndex applies edit to the index document at key (a zero T when
// absent) with compare-and-set, bumping its revision on every write; edit
// reports whether to write at all.
func editIndex[T any, P revised[T]](ctx context.Context, s *Store, key, what string, edit func(P) (bool, error)) error {
	return s.retry(ctx, what, func() (bool, error) {
		old, err := s.get(key)
		if err != nil {
			return false, fmt.Errorf("%s: %w", what, err)
		}
		doc := P(new(T))
		if old != nil {
			if err := json.Unmarshal(old, doc); err != nil {
				return false, fmt.Errorf("%s: decode %s: %w", what, key, err)
			}
		}
		write, err := edit(doc)
		if err != nil || !write {
			return !write && err == nil, err
		}
		doc.bump()
		value, err := json.Marshal(doc)
		if err != nil {
			return false, fmt.Errorf("%s: encode %s: %w", what, key, err)
		}
		ok, err := s.swap(key, old, value)
		if err != nil {
			return false, fmt.Errorf("%s: %w", what, err)
		}
		return ok, nil
	})
}

// readSet returns an index document and its raw bytes (nil when absent).
func (s *Store) readSet(key string) ([]byte, idSet, error) {
	var set idSet
	raw, err := s.get(key)
	if err != nil || raw == nil {
		return nil, set, err
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, set, fmt.Errorf("decode %s: %w", key, err)
	}
	return raw, set, nil
}

// addToSet adds id to the index document at key unless it is there already.
func (s *Store) addToSet(ctx context.Context, key, id, what string) error {
	return s.editSet(ctx, key, what, func(set *idSet) (bool, error) {
		if slices.Contains(set.IDs, id) {
			return false, nil
		}
		set.put(id, true)
		return true, nil
	})
}

// removeFromSet removes id from the index document at key if it is there.
func (s *Store) removeFromSet(ctx context.Context, key, id, what string) error {
	return s.editSet(ctx, key, what, func(set *idSet) (bool, error) {
		if !slices.Contains(set.IDs, id) {
			return false, nil
		}
		set.put(id, false)
		return true, nil
	})
}

// activeShard is one shard of the active index: active incident id ->
// creation time (Unix ms), so that a listing picks the newest without
// reading every record. Rev changes on every write (see syncActive).
type activeShard struct {
	Rev int64            `json:"r"`
	IDs map[string]int64 `json:"ids"`
}

// editActive applies edit to the shard of incident id with compare-and-set.
func (s *Store) editActive(ctx context.Context, id, what string, edit func(*activeShard) error) error {
	return editIndex(ctx, s, activeShardKey(activeShardOf(id)), what, func(sh *activeShard) (bool, error) {
		if sh.IDs == nil {
			sh.IDs = map[string]int64{}
		}
		return true, edit(sh)
	})
}

// syncActive makes the active index agree with the incident's current
// status. Two status changes can race (a resolve and a reopen on two
// nodes), so it does not trust the status its caller wrote: it re-reads the
// record inside the compare-and-set loop and always writes. Whichever sync
// writes last therefore read the record after the last status change.
// wrote is the record the caller stored; it stands in for the re-read
// record when a lagging read replica returns an older revision. It costs
// three calls on the incident's shard, whatever the number of incidents.
func (s *Store) syncActive(ctx context.Context, wrote *incident.Incident) error {
	if err := s.migrateActive(ctx); err != nil {
		return fmt.Errorf("update the list of active incidents: %w", err)
	}
	return s.syncShard(ctx, wrote)
}

// syncShard is syncActive on the incident's shard.
func (s *Store) syncShard(ctx context.Context, wrote *incident.Incident) error {
	what := "update the list of active incidents"
	return s.editActive(ctx, wrote.ID, what, func(sh *activeShard) error {
		cur, _, err := s.readIncident(wrote.ID)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if cur == nil || cur.Revision < wrote.Revision {
			cur = wrote
		}
		if cur.Status.Active() {
			sh.IDs[wrote.ID] = cur.CreatedAt.UnixMilli()
		} else {
			delete(sh.IDs, wrote.ID)
		}
		return nil
	})
}

// migrateActive moves the ids of the v1 active index (one document) into
// the shards and removes it, once; a process that saw it gone does not
// look again.
func (s *Store) migrateActive(ctx context.Context) error {
	if s.activeMigrated.Load() {
		return nil
	}
	raw, set, err := s.readSet(activeKey)
	if err != nil {
		return err
	}
	for _, id := range set.IDs {
		inc, _, err := s.readIncident(id)
		if err != nil {
			return err
		}
		if inc == nil {
			continue
		}
		if err := s.syncShard(ctx, inc); err != nil {
			return err
		}
	}
	if raw != nil {
		if _, err := s.deleteIf(activeKey, raw); err != nil {
			return err
		}
	}
	s.activeMigrated.Store(true)
	return nil
}

// ListActive implements incident.Store. It reads every shard of the index
// (several at a time), then the records of the newest limit incidents
// only.
func (s *Store) ListActive(ctx context.Context, limit int) ([]*incident.Incident, int, error) {
	what := "list active incidents"
	if err := s.migrateActive(ctx); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	keys := make([]string, activeShards)
	for i := range keys {
		keys[i] = activeShardKey(i)
	}
	raws, err := s.readAll(ctx, keys)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	type entry struct {
		id      string
		created int64
	}
	var all []entry
	for i, raw := range raws {
		if raw == nil {
			continue
		}
		var sh activeShard
		if err := json.Unmarshal(raw, &sh); err != nil {
			return nil, 0, fmt.Errorf("%s: decode %s: %w", what, keys[i], err)
		}
		for id, at := range sh.IDs {
			all = append(all, entry{id, at})
		}
	}
	slices.SortFunc(all, func(x, y entry) int {
		if c := cmp.Compare(y.created, x.created); c != 0 {
			return c
		}
		return strings.Compare(y.id, x.id)
	})
	total := len(all)
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	ids := make([]string, len(all))
	for i, e := range all {
		ids[i] = e.id
	}
	list, err := s.readIncidents(ctx, ids, func(inc *incident.Incident) bool { return inc.Status.Active() })
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	return list, total, nil
}

// ListSince implements incident.Store. It reads the list of months, the
// indexes of each month from since's on (the v1 set and the v2 log), and
// each incident in them.
func (s *Store) ListSince(ctx context.Context, since time.Time) ([]*incident.Incident, error) {
	what := "list incidents since " + since.Format(time.RFC3339)
	ids, err := s.idsSince(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	list, err := s.readIncidents(ctx, ids, func(inc *incident.Incident) bool { return !inc.CreatedAt.Before(since) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return list, nil
}

// idsSince returns the ids indexed in since's month and later, each once.
func (s *Store) idsSince(ctx context.Context, since time.Time) ([]string, error) {
	_, months, err := s.readSet(monthsKey)
	if err != nil {
		return nil, err
	}
	from := monthOf(since)
	var ids []string
	seen := map[string]bool{}
	add := func(list []string) {
		for _, id := range list {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	for _, m := range months.IDs {
		if m < from { // "2006-01" strings sort as the months do
			continue
		}
		_, set, err := s.readSet(monthKey(m))
		if err != nil {
			return nil, err
		}
		add(set.IDs)
		logged, err := s.logRead(ctx, monthLog(m))
		if err != nil {
			return nil, err
		}
		add(logged)
	}
	return ids, nil
}

// readAll reads keys, several at a time; an absent key is nil.
func (s *Store) readAll(ctx context.Context, keys []string) ([][]byte, error) {
	raws := make([][]byte, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, readers)
	var wg sync.WaitGroup
	for i, key := range keys {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			raws[i], errs[i] = s.get(key)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return raws, nil
}

// readIncidents reads the incidents with ids (several at a time, an id
// named twice once), keeps those for which keep is true and sorts them
// newest first. An id whose record is gone is skipped: indexes are updated
// after the record, so they may briefly name one.
func (s *Store) readIncidents(ctx context.Context, ids []string, keep func(*incident.Incident) bool) ([]*incident.Incident, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = incidentKey(id)
	}
	raws, err := s.readAll(ctx, keys)
	if err != nil {
		return nil, err
	}
	list := make([]*incident.Incident, 0, len(ids))
	for i, raw := range raws {
		if raw == nil {
			continue
		}
		var inc incident.Incident
		if err := json.Unmarshal(raw, &inc); err != nil {
			return nil, fmt.Errorf("decode incident %s: %w", ids[i], err)
		}
		if keep(&inc) {
			list = append(list, &inc)
		}
	}
	slices.SortFunc(list, newestFirst)
	return list, nil
}

func newestFirst(a, b *incident.Incident) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}
