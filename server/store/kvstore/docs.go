package kvstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func docKey(name string) string { return "doc/v1/" + name }

// GetDoc returns the document's raw bytes, or nil if absent.
func (s *Store) GetDoc(_ context.Context, name string) ([]byte, error) {
	if !incident.ValidDocName(name) {
		return nil, fmt.Errorf("get doc %q: invalid name", name)
	}
	b, err := s.get(docKey(name))
	if err != nil {
		return nil, fmt.Errorf("get doc %s: %w", name, err)
	}
	return bytes.Clone(b), nil
}

// CompareAndSetDoc swaps old for next with the KV store's compare-and-set.
func (s *Store) CompareAndSetDoc(_ context.Context, name string, old, next []byte) (bool, error) {
	if !incident.ValidDocName(name) {
		return false, fmt.Errorf("set doc %q: invalid name", name)
	}
	// An untyped nil (not a nil []byte inside an interface) is what tells
	// pluginapi "insert only if absent" and "delete".
	var oldV, nextV any
	if old != nil {
		oldV = old
	}
	if next != nil {
		nextV = next
	}
	ok, err := s.kv.Set(docKey(name), nextV, pluginapi.SetAtomic(oldV))
	if err != nil {
		return false, fmt.Errorf("set doc %s: %w", name, err)
	}
	return ok, nil
}
