package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func claim(t *testing.T, s incident.Store, key string, ttl time.Duration) bool {
	t.Helper()
	ok, err := s.Claim(t.Context(), key, ttl)
	if err != nil {
		t.Fatalf("Claim(%.20q…, %v): %v", key, ttl, err)
	}
	return ok
}

func testClaim(t *testing.T, s incident.Store) {
	if !claim(t, s, "page/inc1/l1", 0) {
		t.Fatal("first Claim = false")
	}
	if claim(t, s, "page/inc1/l1", 0) {
		t.Fatal("second Claim of a key held forever = true")
	}
	if !claim(t, s, "page/inc1/l2", 0) {
		t.Fatal("Claim of another key = false")
	}
	// Keys longer than any backend's key limit, differing only at the end.
	long := strings.Repeat("escalate/", 30)
	if !claim(t, s, long+"a", time.Hour) || !claim(t, s, long+"b", time.Hour) {
		t.Fatal("first Claim of a long key = false")
	}
	if claim(t, s, long+"a", time.Hour) {
		t.Fatal("second Claim of a long key = true")
	}
}

// testClaimExpires cannot fake the clock through the Store interface, so it
// waits for a short claim to lapse, polling against a generous deadline: a
// store may round the ttl up (the plugin KV keeps whole seconds).
func testClaimExpires(t *testing.T, s incident.Store) {
	const ttl = 200 * time.Millisecond
	start := time.Now()
	if !claim(t, s, "remind/inc1", ttl) {
		t.Fatal("first Claim = false")
	}
	if claim(t, s, "remind/inc1", ttl) && time.Since(start) < ttl {
		t.Fatal("second Claim before the ttl passed = true")
	}
	if !poll(t.Context(), 10*time.Second, func() bool { return claim(t, s, "remind/inc1", ttl) }) {
		t.Fatal("claim still held 10s after a 200ms ttl")
	}
	if time.Since(start) < ttl {
		t.Fatalf("claim re-taken after %v, before its ttl of %v", time.Since(start), ttl)
	}
}
