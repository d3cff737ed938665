package app

import (
	"path/filepath"
	"testing"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/boltstore"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore/kvtest"
)

// storeKind is an implementation of incident.Store the app's tests run
// over: open returns a new, empty store that lives as long as the test;
// faulty returns one whose writes the fault sweep fails (see writeFaults).
type storeKind struct {
	name   string
	open   func(testing.TB) incident.Store
	faulty func(testing.TB) (incident.Store, writeFaults)
}

var (
	// bolt is the embedded store: a bbolt file in the test's temp dir.
	bolt = storeKind{name: "bolt", open: openBolt,
		faulty: func(t testing.TB) (incident.Store, writeFaults) {
			f := &storeFaults{Store: openBolt(t)}
			return f, f
		}}
	// kv is the production store, as plugin.go builds it, over the plugin
	// KV API's in-memory implementation (goroutine-safe, with the server's
	// compare-and-set semantics).
	kv = storeKind{name: "kv",
		open: func(testing.TB) incident.Store { return kvstore.New(&pluginapi.MemoryStore{}) },
		faulty: func(testing.TB) (incident.Store, writeFaults) {
			c := kvtest.New()
			return kvstore.New(c), kvFaults{c}
		}}
)

// openBolt opens a bbolt store in t's temp dir, closed when t ends.
func openBolt(t testing.TB) incident.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "incidents.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

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
