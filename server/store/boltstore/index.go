package boltstore

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// timeKey encodes t so that byte order is time order, for every time.Time
// (the zero time included, which UnixNano cannot represent): Unix seconds
// with the sign bit flipped, then nanoseconds.
func timeKey(t time.Time) []byte {
	k := make([]byte, 12)
	binary.BigEndian.PutUint64(k, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(k[8:], uint32(t.Nanosecond()))
	return k
}

// createdKey orders the creation index by time, then id.
func createdKey(inc *incident.Incident) []byte {
	return append(timeKey(inc.CreatedAt), inc.ID...)
}

// ListActive implements incident.Store.
func (s *Store) ListActive(ctx context.Context, limit int) ([]*incident.Incident, int, error) {
	var list []*incident.Incident
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(activeBucket).ForEach(func(id, _ []byte) error {
			inc, err := getIncident(tx, string(id))
			if inc != nil {
				list = append(list, inc)
			}
			return err
		})
	})
	if err != nil {
		return nil, 0, wrap(err, "list active incidents")
	}
	slices.SortFunc(list, newestFirst)
	total := len(list)
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	return list, total, nil
}

// ListSince implements incident.Store with one seek in the creation index.
func (s *Store) ListSince(ctx context.Context, since time.Time) ([]*incident.Incident, error) {
	var list []*incident.Incident
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(createdBucket).Cursor()
		for k, id := c.Seek(timeKey(since)); k != nil; k, id = c.Next() {
			inc, err := getIncident(tx, string(id))
			if err != nil {
				return err
			}
			if inc != nil {
				list = append(list, inc)
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "list incidents since "+since.Format(time.RFC3339))
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
