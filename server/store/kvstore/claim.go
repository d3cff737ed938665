package kvstore

import (
	"context"
	"fmt"
	"time"

	"github.com/mattermost/mattermost/server/public/pluginapi"
)

// Claim implements incident.Store with one insert-if-absent: the server
// runs it as a plain INSERT (after dropping an expired row), so exactly one
// concurrent caller wins, cluster-wide.
//
// The KV keeps expiry in whole seconds and reads 0 as "never", so a
// non-zero ttl is rounded up: a 300ms claim lasts 1s rather than forever.
// Keys too long for the KV are replaced by their SHA-256.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" || ttl < 0 {
		return false, fmt.Errorf("claim %q for %v: need a key and a ttl of 0 or more", key, ttl)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	opts := []pluginapi.KVSetOption{pluginapi.SetAtomic(nil)}
	if ttl > 0 {
		secs := ttl / time.Second
		if ttl%time.Second != 0 {
			secs++
		}
		opts = append(opts, pluginapi.SetExpiry(secs*time.Second))
	}
	ok, err := s.kv.Set(claimKey(key), []byte{'1'}, opts...)
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	return ok, nil
}
