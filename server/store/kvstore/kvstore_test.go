package kvstore_test

import (
	"testing"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
	"github.com/incidentbot/mattermost-incident-bot/server/store/storetest"
)

// pluginapi.MemoryStore is goroutine-safe and does compare-and-set,
// insert-if-absent and compare-and-delete as the server does, with expiry
// in whole seconds. It differs only where this store does not go: a CAS on
// an expired key with a stale old value succeeds there, and it hands out its
// stored slices (so a store that mutated bytes it read would corrupt it, a
// bug the suite would then catch).
func TestContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) incident.Store {
		return kvstore.New(&pluginapi.MemoryStore{})
	})
}
