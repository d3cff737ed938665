package boltstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// IncidentMonths implements incident.Store: every month from the first
// incident's to the last one's.
func (s *Store) IncidentMonths(ctx context.Context) ([]string, error) {
	var first, last time.Time
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		c := tx.Bucket(createdBucket).Cursor()
		if k, id := c.First(); k != nil {
			if first, err = createdAt(tx, id); err != nil {
				return err
			}
			_, id = c.Last()
			last, err = createdAt(tx, id)
		}
		return err
	})
	if err != nil || first.IsZero() {
		return nil, wrap(err, "list the months of incidents")
	}
	var out []string
	for m := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(last); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out, nil
}

func createdAt(tx *bolt.Tx, id []byte) (time.Time, error) {
	inc, err := getIncident(tx, string(id))
	if err != nil || inc == nil {
		return time.Time{}, err
	}
	return inc.CreatedAt.UTC(), nil
}

// ListIDs implements incident.Store: newest first by the creation index;
// a cursor is the hex of the last listed entry's key.
func (s *Store) ListIDs(ctx context.Context, cursor string, n int) ([]incident.Listed, error) {
	from, err := hex.DecodeString(cursor)
	if err != nil {
		return nil, incident.Invalidf("the listing cursor %q is not one this server gave", cursor)
	}
	var out []incident.Listed
	err = s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(createdBucket).Cursor()
		var k, id []byte
		switch k, _ = c.Seek(from); {
		case len(from) == 0 || k == nil:
			k, id = c.Last() // the start, or every key is before from
		default:
			k, id = c.Prev() // before from (listed) or the first key after it
		}
		for ; k != nil && len(out) < n; k, id = c.Prev() {
			out = append(out, incident.Listed{ID: string(id), Next: hex.EncodeToString(k)})
		}
		return nil
	})
	return out, wrap(err, "list incidents")
}

// GetIncidents implements incident.Store.
func (s *Store) GetIncidents(ctx context.Context, ids []string) ([]*incident.Incident, error) {
	out := make([]*incident.Incident, len(ids))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		for i, id := range ids {
			var err error
			if out[i], err = getIncident(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	return out, wrap(err, fmt.Sprintf("get %d incidents", len(ids)))
}

// GetDocs implements incident.Docs.
func (s *Store) GetDocs(ctx context.Context, names []string) ([][]byte, error) {
	out := make([][]byte, len(names))
	for i, name := range names {
		var err error
		if out[i], err = s.GetDoc(ctx, name); err != nil {
			return nil, err
		}
	}
	return out, nil
}
