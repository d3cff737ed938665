package storetest

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func testDocs(t *testing.T, s incident.Store) {
	ctx := context.Background()
	if b, err := s.GetDoc(ctx, "rota/v1"); err != nil || b != nil {
		t.Fatalf("missing doc = %q, %v", b, err)
	}
	mustSwap := func(old, next []byte, want bool) {
		t.Helper()
		ok, err := s.CompareAndSetDoc(ctx, "rota/v1", old, next)
		if err != nil || ok != want {
			t.Fatalf("CompareAndSetDoc(%q -> %q) = %v, %v; want %v", old, next, ok, err, want)
		}
	}
	mustSwap(nil, []byte(`{"a":1}`), true)
	mustSwap(nil, []byte(`{"a":2}`), false) // insert only if absent
	mustSwap([]byte(`{"a":9}`), []byte(`{"a":2}`), false)
	mustSwap([]byte(`{"a":1}`), []byte(`{"a":2}`), true)
	if b, _ := s.GetDoc(ctx, "rota/v1"); string(b) != `{"a":2}` {
		t.Fatalf("doc = %q", b)
	}
	mustSwap([]byte(`{"a":1}`), nil, false) // stale delete
	mustSwap([]byte(`{"a":2}`), nil, true)
	if b, _ := s.GetDoc(ctx, "rota/v1"); b != nil {
		t.Fatalf("deleted doc = %q", b)
	}
	for _, bad := range []string{"", "Upper", "has space", string(make([]byte, 101))} {
		if _, err := s.GetDoc(ctx, bad); err == nil {
			t.Errorf("GetDoc(%q) accepted a bad name", bad)
		}
		if _, err := s.CompareAndSetDoc(ctx, bad, nil, []byte("x")); err == nil {
			t.Errorf("CompareAndSetDoc(%q) accepted a bad name", bad)
		}
	}
}

// testConcurrentDocUpdates: read-modify-CAS loops from many goroutines lose
// no increment.
func testConcurrentDocUpdates(t *testing.T, s incident.Store) {
	ctx := context.Background()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				for {
					old, err := s.GetDoc(ctx, "counter")
					if err != nil {
						t.Error(err)
						return
					}
					n := 0
					if old != nil {
						n, _ = strconv.Atoi(string(old))
					}
					ok, err := s.CompareAndSetDoc(ctx, "counter", old, []byte(strconv.Itoa(n+1)))
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	if b, _ := s.GetDoc(ctx, "counter"); string(b) != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %s, want %d", b, workers*each)
	}
}

func testDocNames(t *testing.T, s incident.Docs) {
	ctx := t.Context()
	for _, name := range []string{"actions/v1/b", "actions/v1/a", "hotfix/v1/a", "actions/v2/a", "rota/v1"} {
		if ok, err := s.CompareAndSetDoc(ctx, name, nil, []byte(`{}`)); err != nil || !ok {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	if ok, err := s.CompareAndSetDoc(ctx, "actions/v1/gone", nil, []byte(`{}`)); err != nil || !ok {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSetDoc(ctx, "actions/v1/gone", []byte(`{}`), nil); err != nil || !ok {
		t.Fatal(err)
	}
	for prefix, want := range map[string][]string{
		"actions/v1/": {"actions/v1/a", "actions/v1/b"},
		"":            {"actions/v1/a", "actions/v1/b", "actions/v2/a", "hotfix/v1/a", "rota/v1"},
		"runbook/":    nil,
	} {
		got, err := s.DocNames(ctx, prefix)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("DocNames(%q) = %q, %v; want %q", prefix, got, err, want)
		}
	}
}
