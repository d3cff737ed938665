package kvstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// The listing walks the month indexes backwards: the newest month first,
// each month's log from its last chunk to its first, then the month's v1
// set (written by versions before the log). A cursor names the place:
// "<month>.<chunk>.<left>", where left ids of the chunk (chunk -1: the v1
// set, sorted) remain to be listed.

// headChunk asks for a month's last chunk, found by reading.
const headChunk = -2

type listPos struct {
	month string
	k, i  int // chunk, ids of it left (-1: all)
}

func (p listPos) String() string {
	return p.month + "." + strconv.Itoa(p.k) + "." + strconv.Itoa(p.i)
}

func parseListPos(s string) (listPos, error) {
	parts := strings.Split(s, ".")
	if len(parts) == 3 {
		k, errK := strconv.Atoi(parts[1])
		i, errI := strconv.Atoi(parts[2])
		if errK == nil && errI == nil && k >= -1 && i >= 0 && len(parts[0]) == 7 {
			return listPos{month: parts[0], k: k, i: i}, nil
		}
	}
	return listPos{}, incident.Invalidf("the listing cursor %q is not one this server gave", s)
}

// IncidentMonths implements incident.Store.
func (s *Store) IncidentMonths(context.Context) ([]string, error) {
	_, months, err := s.readSet(monthsKey)
	if err != nil {
		return nil, fmt.Errorf("list the months of incidents: %w", err)
	}
	slices.Sort(months.IDs)
	return months.IDs, nil
}

// ListIDs implements incident.Store: one read for the months, one per
// chunk it walks (128 ids), and, at the start, the reads that find the
// newest month's last chunk.
func (s *Store) ListIDs(ctx context.Context, cursor string, n int) ([]incident.Listed, error) {
	months, err := s.IncidentMonths(ctx)
	if err != nil || len(months) == 0 || n <= 0 {
		return nil, err
	}
	pos := listPos{month: months[len(months)-1], k: headChunk, i: -1}
	if cursor != "" {
		if pos, err = parseListPos(cursor); err != nil {
			return nil, err
		}
	}
	var out []incident.Listed
	seen := map[string]bool{}
	for len(out) < n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if pos.k == headChunk {
			if pos.k, err = s.lastChunk(pos.month); err != nil {
				return nil, err
			}
		}
		ids, err := s.listChunk(pos)
		if err != nil {
			return nil, err
		}
		if pos.i < 0 || pos.i > len(ids) {
			pos.i = len(ids)
		}
		for pos.i > 0 && len(out) < n {
			pos.i--
			if id := ids[pos.i]; !seen[id] {
				seen[id] = true
				out = append(out, incident.Listed{ID: id, Next: pos.String()})
			}
		}
		if pos.i > 0 {
			break
		}
		if pos.k >= 0 {
			pos.k, pos.i = pos.k-1, -1
			continue
		}
		at, _ := slices.BinarySearch(months, pos.month)
		if at == 0 {
			break // the oldest month is done
		}
		pos = listPos{month: months[at-1], k: headChunk, i: -1}
	}
	return out, nil
}

// listChunk returns the ids of the chunk at p: a chunk of the month's log,
// or its v1 set, sorted.
func (s *Store) listChunk(p listPos) ([]string, error) {
	if p.k < 0 {
		_, set, err := s.readSet(monthKey(p.month))
		slices.Sort(set.IDs)
		return set.IDs, err
	}
	key := logChunkKey(monthLog(p.month), p.k)
	raw, err := s.get(key)
	if err != nil || raw == nil {
		return nil, err
	}
	var c logChunk
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return c.IDs, nil
}

// lastChunk finds the last chunk of a month's log from its head hint,
// which may lag behind by the chunks sealed since it was written.
func (s *Store) lastChunk(month string) (int, error) {
	name := monthLog(month)
	k, _, err := s.logHead(name)
	if err != nil {
		return 0, err
	}
	for {
		raw, err := s.get(logChunkKey(name, k+1))
		if err != nil {
			return 0, err
		}
		if raw == nil {
			return k, nil
		}
		k++
	}
}

// GetIncidents implements incident.Store.
func (s *Store) GetIncidents(ctx context.Context, ids []string) ([]*incident.Incident, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = incidentKey(id)
	}
	raws, err := s.readAll(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("get %d incidents: %w", len(ids), err)
	}
	out := make([]*incident.Incident, len(ids))
	for i, raw := range raws {
		if raw == nil || checkID(ids[i]) != nil {
			continue
		}
		if out[i], _, err = decodeIncident(ids[i], raw); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetDocs implements incident.Docs.
func (s *Store) GetDocs(ctx context.Context, names []string) ([][]byte, error) {
	keys := make([]string, len(names))
	for i, name := range names {
		if !incident.ValidDocName(name) {
			return nil, fmt.Errorf("get doc %q: invalid name", name)
		}
		keys[i] = docKey(name)
	}
	raws, err := s.readAll(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("get %d docs: %w", len(names), err)
	}
	return raws, nil
}
