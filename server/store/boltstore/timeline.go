package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Each incident's timeline is a bucket nested in timelinesBucket, keyed by
// big-endian Seq so that a cursor walks it in order. An append writes one
// key, whatever the timeline's length.

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

func isBucketNotFound(err error) bool { return errors.Is(err, bolterrors.ErrBucketNotFound) }

// AppendEvent implements incident.Store.
func (s *Store) AppendEvent(ctx context.Context, incidentID string, e incident.Event) (incident.Event, error) {
	out, err := s.AppendEvents(ctx, incidentID, []incident.Event{e})
	if err != nil {
		return incident.Event{}, err
	}
	return out[0], nil
}

// AppendEvents implements incident.Store: one transaction for the batch.
func (s *Store) AppendEvents(ctx context.Context, incidentID string, events []incident.Event) ([]incident.Event, error) {
	id := incidentID
	if len(events) == 0 {
		return nil, nil
	}
	out := make([]incident.Event, 0, len(events))
	err := s.update(ctx, func(tx *bolt.Tx) error {
		out = out[:0]
		if tx.Bucket(incidentsBucket).Get([]byte(id)) == nil {
			return notFound(id)
		}
		tl, err := tx.Bucket(timelinesBucket).CreateBucketIfNotExists([]byte(id))
		if err != nil {
			return err
		}
		have, err := recentKeys(tl, events)
		if err != nil {
			return err
		}
		for _, e := range events {
			if stored, ok := have[e.Key]; ok && e.Key != "" {
				out = append(out, stored)
				continue
			}
			n, err := tl.NextSequence() // from 1
			if err != nil {
				return err
			}
			e.Seq = int(n - 1)
			raw, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode event: %w", err)
			}
			if err := tl.Put(seqKey(n-1), raw); err != nil {
				return err
			}
			out = append(out, e)
			if have != nil && e.Key != "" {
				have[e.Key] = e
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "add to the timeline of #"+id)
	}
	return out, nil
}

// keyWindow is how many of the last events an append looks through for a
// keyed event's key (the contract's "at least the last 32").
const keyWindow = 64

// recentKeys returns the keyed events among the last keyWindow of tl, by
// key, when one of events has a key (nil otherwise).
func recentKeys(tl *bolt.Bucket, events []incident.Event) (map[string]incident.Event, error) {
	if !slices.ContainsFunc(events, func(e incident.Event) bool { return e.Key != "" }) {
		return nil, nil
	}
	have := map[string]incident.Event{}
	c := tl.Cursor()
	k, v := c.Last()
	for i := 0; k != nil && i < keyWindow; i++ {
		var e incident.Event
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("decode event: %w", err)
		}
		if e.Key != "" {
			if _, ok := have[e.Key]; !ok {
				have[e.Key] = e
			}
		}
		k, v = c.Prev()
	}
	return have, nil
}

// Timeline implements incident.Store.
func (s *Store) Timeline(ctx context.Context, incidentID string) ([]incident.Event, error) {
	id := incidentID
	events := []incident.Event{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(incidentsBucket).Get([]byte(id)) == nil {
			return notFound(id)
		}
		tl := tx.Bucket(timelinesBucket).Bucket([]byte(id))
		if tl == nil {
			return nil
		}
		return tl.ForEach(func(k, raw []byte) error {
			e, err := decodeEvent(k, raw)
			events = append(events, e)
			return err
		})
	})
	if err != nil {
		return nil, wrap(err, "read the timeline of #"+id)
	}
	return events, nil
}

// TimelineTail implements incident.Store: a cursor walks back from the
// last event.
func (s *Store) TimelineTail(ctx context.Context, incidentID string, n int) ([]incident.Event, error) {
	id := incidentID
	var events []incident.Event
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(incidentsBucket).Get([]byte(id)) == nil {
			return notFound(id)
		}
		tl := tx.Bucket(timelinesBucket).Bucket([]byte(id))
		if tl == nil || n <= 0 {
			return nil
		}
		c := tl.Cursor()
		for k, raw := c.Last(); k != nil && len(events) < n; k, raw = c.Prev() {
			e, err := decodeEvent(k, raw)
			if err != nil {
				return err
			}
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "read the end of the timeline of #"+id)
	}
	slices.Reverse(events)
	if events == nil {
		events = []incident.Event{}
	}
	return events, nil
}

// decodeEvent decodes the event stored at key k.
func decodeEvent(k, raw []byte) (incident.Event, error) {
	var e incident.Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("decode event %x: %w", k, err)
	}
	e.Seq = int(binary.BigEndian.Uint64(k))
	return e, nil
}
