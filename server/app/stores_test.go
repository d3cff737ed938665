package app

import (
	"path/filepath"
	"testing"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/boltstore"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
)

// storeKind is an implementation of incident.Store the app's tests run
// over: open returns a new, empty store that lives as long as the test.
type storeKind struct {
	name string
	open func(testing.TB) incident.Store
}

var (
	// bolt is the embedded store: a bbolt file in the test's temp dir.
	bolt = storeKind{"bolt", func(t testing.TB) incident.Store {
		t.Helper()
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "incidents.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}}
	// kv is the production store, as plugin.go builds it, over the plugin
	// KV API's in-memory implementation (goroutine-safe, with the server's
	// compare-and-set semantics).
	kv = storeKind{"kv", func(testing.TB) incident.Store { return kvstore.New(&pluginapi.MemoryStore{}) }}
)

// storeKinds are every store kind; defaultStore is the one of the tests
// that do not run over each.
var (
	storeKinds   = []storeKind{bolt, kv}
	defaultStore = bolt
)

// forEachStore runs test once over each store kind, as subtests named
// after the kinds. The tests of exactly-once work, claims, compare-and-set
// and several instances sharing a store use it: the store's semantics are
// what they rely on.
func forEachStore(t *testing.T, test func(t *testing.T, s storeKind)) {
	t.Helper()
	for _, s := range storeKinds {
		t.Run(s.name, func(t *testing.T) { test(t, s) })
	}
}
