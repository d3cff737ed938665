package kvstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// retry runs try under the store's compare-and-set policy until it
// reports done or returns an error; what names the operation for the user
// ("update incident #x"). try returns (false, nil) when it lost a
// compare-and-set; errors, including those of a caller's mutate function,
// come back unchanged.
func (s *Store) retry(ctx context.Context, what string, try func() (bool, error)) error {
	err := s.cas.Retry(ctx, try)
	switch {
	case errors.Is(err, cas.ErrContended):
		return incident.Conflictf("%s: too many concurrent changes, try again", what)
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return fmt.Errorf("%s: %w", what, err)
	}
	return err
}

// get returns the raw bytes stored at key, or nil if the key is absent.
// The bytes may be shared with the KV (MemoryStore hands out its own slice),
// so they are never modified, only compared and decoded.
func (s *Store) get(key string) ([]byte, error) {
	var b []byte
	if err := s.kv.Get(key, &b); err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}

// swap writes value at key if the key still holds old exactly; a nil old
// means "only if absent". It reports whether the write happened.
func (s *Store) swap(key string, old, value []byte) (bool, error) {
	var cond any // an untyped nil, not a nil []byte, asks for insert-if-absent
	if old != nil {
		cond = old
	}
	ok, err := s.kv.Set(key, value, pluginapi.SetAtomic(cond))
	if err != nil {
		return false, fmt.Errorf("write %s: %w", key, err)
	}
	return ok, nil
}

// deleteIf removes key if it still holds old exactly.
func (s *Store) deleteIf(key string, old []byte) (bool, error) {
	ok, err := s.kv.Set(key, nil, pluginapi.SetAtomic(old))
	if err != nil {
		return false, fmt.Errorf("delete %s: %w", key, err)
	}
	return ok, nil
}

func (s *Store) delete(key string) error {
	if err := s.kv.Delete(key); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
