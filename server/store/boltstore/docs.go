package boltstore

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

var docsBucket = []byte("docs") // name -> document bytes

// GetDoc returns the document's bytes, or nil if absent.
func (s *Store) GetDoc(_ context.Context, name string) ([]byte, error) {
	if !incident.ValidDocName(name) {
		return nil, fmt.Errorf("get doc %q: invalid name", name)
	}
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(docsBucket); b != nil {
			out = bytes.Clone(b.Get([]byte(name)))
		}
		return nil
	})
	return out, err
}

// CompareAndSetDoc swaps old for next inside one write transaction.
func (s *Store) CompareAndSetDoc(_ context.Context, name string, old, next []byte) (bool, error) {
	if !incident.ValidDocName(name) {
		return false, fmt.Errorf("set doc %q: invalid name", name)
	}
	swapped := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(docsBucket)
		if err != nil {
			return err
		}
		cur := b.Get([]byte(name))
		if (old == nil) != (cur == nil) || (old != nil && !bytes.Equal(cur, old)) {
			return nil
		}
		swapped = true
		if next == nil {
			return b.Delete([]byte(name))
		}
		return b.Put([]byte(name), next)
	})
	if err != nil {
		return false, fmt.Errorf("set doc %s: %w", name, err)
	}
	return swapped, nil
}
