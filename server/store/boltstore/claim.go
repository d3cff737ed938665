package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Claim implements incident.Store. The expiry is kept to the nanosecond
// beside the key; an expired claim is simply overwritten by the next
// claimer. Claims are never swept: each is a few dozen bytes.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" || ttl < 0 {
		return false, fmt.Errorf("claim %q for %v: need a key and a ttl of 0 or more", key, ttl)
	}
	var won bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(claimsBucket)
		now := time.Now()
		if v := b.Get([]byte(key)); len(v) == 8 {
			exp := int64(binary.BigEndian.Uint64(v))
			if exp == 0 || now.UnixNano() < exp {
				return nil
			}
		}
		var exp uint64
		if ttl > 0 {
			exp = uint64(now.Add(ttl).UnixNano())
		}
		won = true
		return b.Put([]byte(key), binary.BigEndian.AppendUint64(nil, exp))
	})
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	return won, nil
}
