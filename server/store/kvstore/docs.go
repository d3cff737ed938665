package kvstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func docKey(name string) string { return "doc/v1/" + name }

// GetDoc returns the document's raw bytes, or nil if absent. A document
// this process read or wrote within recentRead is served from memory, as
// incident records are (see recent.go): a change and its worker, or an
// index shard many changes write, read it once.
func (s *Store) GetDoc(_ context.Context, name string) ([]byte, error) {
	if !incident.ValidDocName(name) {
		return nil, fmt.Errorf("get doc %q: invalid name", name)
	}
	key := docKey(name)
	if raw, ok := s.recentDocs.lookup(key, recentRead); ok {
		return bytes.Clone(raw), nil
	}
	mark := s.recentDocs.mark()
	b, err := s.get(key)
	if err != nil {
		return nil, fmt.Errorf("get doc %s: %w", name, err)
	}
	s.recentDocs.rememberRead(key, b, mark)
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
	key := docKey(name)
	mark := s.recentDocs.mark()
	ok, err := s.kv.Set(key, nextV, pluginapi.SetAtomic(oldV))
	switch {
	case err != nil:
		s.recentDocs.forget(key)
		return false, fmt.Errorf("set doc %s: %w", name, err)
	case ok:
		s.recentDocs.rememberWrite(key, bytes.Clone(next), mark)
	default:
		// Someone else wrote it: the next read goes to the store.
		s.recentDocs.forget(key)
	}
	return ok, nil
}

// listPage is how many keys one KVList call returns while listing.
const listPage = 1000

// DocNames implements incident.Docs: one KVList call per thousand keys
// of the plugin, whatever they hold.
func (s *Store) DocNames(ctx context.Context, prefix string) ([]string, error) {
	full := docKey(prefix)
	var names []string
	for page := 0; ; page++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		keys, err := s.kv.ListKeys(page, listPage)
		if err != nil {
			return nil, fmt.Errorf("list documents %s*: %w", prefix, err)
		}
		for _, k := range keys {
			if strings.HasPrefix(k, full) {
				names = append(names, strings.TrimPrefix(k, docKey("")))
			}
		}
		if len(keys) < listPage {
			break
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
