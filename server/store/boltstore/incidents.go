package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func notFound(id string) error { return incident.NotFoundf("incident #%s not found", id) }

// getIncident decodes the incident stored under id, or returns nil.
func getIncident(tx *bolt.Tx, id string) (*incident.Incident, error) {
	raw := tx.Bucket(incidentsBucket).Get([]byte(id))
	if raw == nil {
		return nil, nil
	}
	var inc incident.Incident
	if err := json.Unmarshal(raw, &inc); err != nil {
		return nil, fmt.Errorf("decode incident #%s: %w", id, err)
	}
	return &inc, nil
}

// putIncident stores inc, the next version of old (nil: a new one), and
// keeps the active index in step with its status. Fields of old that this
// version does not know are kept (see cas.Encode).
func putIncident(tx *bolt.Tx, old []byte, inc *incident.Incident) error {
	raw, err := cas.Encode(old, inc)
	if err != nil {
		return fmt.Errorf("encode incident %s: %w", inc.ShortRef(), err)
	}
	id := []byte(inc.ID)
	if err := tx.Bucket(incidentsBucket).Put(id, raw); err != nil {
		return err
	}
	if inc.Status.Active() {
		return tx.Bucket(activeBucket).Put(id, nil)
	}
	return tx.Bucket(activeBucket).Delete(id)
}

// insertIncident stores rec, which must be new, and indexes it by channel
// and creation time; channelTaken is the conflict's message when its
// channel has an incident already.
func insertIncident(tx *bolt.Tx, rec *incident.Incident, channelTaken string) error {
	if tx.Bucket(incidentsBucket).Get([]byte(rec.ID)) != nil {
		return incident.Conflictf("incident %s already exists", rec.ShortRef())
	}
	channels := tx.Bucket(channelsBucket)
	if channels.Get([]byte(rec.ChannelID)) != nil {
		return incident.Conflictf("%s", channelTaken)
	}
	if err := channels.Put([]byte(rec.ChannelID), []byte(rec.ID)); err != nil {
		return err
	}
	if err := tx.Bucket(createdBucket).Put(createdKey(rec), []byte(rec.ID)); err != nil {
		return err
	}
	return putIncident(tx, nil, rec)
}

// CreateIncident implements incident.Store. On success inc.Revision is 1.
func (s *Store) CreateIncident(ctx context.Context, inc *incident.Incident) error {
	if inc.ID == "" {
		return incident.Invalidf("the incident has no id")
	}
	ref := inc.ShortRef()
	if inc.ChannelID == "" || inc.CreatedAt.IsZero() {
		return fmt.Errorf("create incident %s: channel and creation time are required", ref)
	}
	rec := inc.Clone()
	rec.Revision = 1
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return insertIncident(tx, rec, "this channel already has an incident; start a new one from another channel")
	})
	if err != nil {
		return wrap(err, "create incident "+ref)
	}
	inc.Revision = rec.Revision
	return nil
}

// InsertIncident implements incident.Store: in one transaction, the
// incident is stored and indexed at once (IndexIncident has nothing left to
// do).
func (s *Store) InsertIncident(ctx context.Context, inc *incident.Incident) error {
	return s.CreateIncident(ctx, inc)
}

// IndexIncident implements incident.Store: CreateIncident and
// InsertIncident index in their transaction, so it only checks the
// incident exists.
func (s *Store) IndexIncident(ctx context.Context, id string) error {
	_, err := s.GetIncident(ctx, id)
	return err
}

// GetIncident implements incident.Store.
func (s *Store) GetIncident(ctx context.Context, id string) (*incident.Incident, error) {
	var inc *incident.Incident
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		inc, err = getIncident(tx, id)
		return err
	})
	if err != nil {
		return nil, wrap(err, "get incident #"+id)
	}
	if inc == nil {
		return nil, notFound(id)
	}
	return inc, nil
}

// UpdateIncident implements incident.Store. mutate runs once, inside the
// write transaction, so it must not call the Store (bbolt would deadlock)
// and must not change the ID, ChannelID or CreatedAt, which the indexes are
// keyed by.
func (s *Store) UpdateIncident(ctx context.Context, id string, mutate func(*incident.Incident) error) (*incident.Incident, error) {
	var out *incident.Incident
	err := s.update(ctx, func(tx *bolt.Tx) error {
		cur, err := getIncident(tx, id)
		if err != nil {
			return err
		}
		if cur == nil {
			return notFound(id)
		}
		before := *cur
		if err := mutate(cur); err != nil {
			return mutateError{err}
		}
		if cur.ID != before.ID || cur.ChannelID != before.ChannelID || !cur.CreatedAt.Equal(before.CreatedAt) {
			return fmt.Errorf("the id, channel and creation time cannot change")
		}
		cur.Revision = before.Revision + 1
		out = cur
		return putIncident(tx, tx.Bucket(incidentsBucket).Get([]byte(id)), cur)
	})
	if me := (mutateError{}); errors.As(err, &me) {
		return nil, me.err
	}
	if err != nil {
		return nil, wrap(err, "update incident #"+id)
	}
	return out, nil
}

// mutateError carries an error of the caller's mutate through the
// transaction, so that it is returned exactly as mutate returned it.
type mutateError struct{ err error }

func (e mutateError) Error() string { return e.err.Error() }

// DeleteIncident implements incident.Store.
func (s *Store) DeleteIncident(ctx context.Context, id string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		inc, err := getIncident(tx, id)
		if err != nil {
			return err
		}
		if inc == nil {
			return notFound(id)
		}
		key := []byte(id)
		channels := tx.Bucket(channelsBucket)
		if bytes.Equal(channels.Get([]byte(inc.ChannelID)), key) {
			if err := channels.Delete([]byte(inc.ChannelID)); err != nil {
				return err
			}
		}
		if err := tx.Bucket(createdBucket).Delete(createdKey(inc)); err != nil {
			return err
		}
		if err := tx.Bucket(activeBucket).Delete(key); err != nil {
			return err
		}
		if err := tx.Bucket(timelinesBucket).DeleteBucket(key); err != nil && !isBucketNotFound(err) {
			return err
		}
		return tx.Bucket(incidentsBucket).Delete(key)
	})
	return wrap(err, "delete incident #"+id)
}

// IncidentIDForChannel implements incident.Store.
func (s *Store) IncidentIDForChannel(ctx context.Context, channelID string) (string, error) {
	var id string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id = string(tx.Bucket(channelsBucket).Get([]byte(channelID)))
		return nil
	})
	if err != nil {
		return "", wrap(err, "find the incident of channel "+channelID)
	}
	if id == "" {
		return "", incident.NotFoundf("this channel has no incident")
	}
	return id, nil
}

// wrap prefixes an infrastructure error with the operation; domain errors
// (not found, conflict) pass unchanged, their message is for the user.
func wrap(err error, what string) error {
	if err == nil || incident.KindOf(err) != incident.KindInternal {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}
