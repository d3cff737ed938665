package kvstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore/kvtest"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func newIncident(id, channelID string) *incident.Incident {
	inc := &incident.Incident{ID: id, Title: "Checkout down", Severity: incident.S2, TeamID: "t", ChannelID: channelID}
	inc.Start(t0, "alice")
	return inc
}

func mustCreate(t testing.TB, s *kvstore.Store, id, channelID string) {
	t.Helper()
	if err := s.CreateIncident(t.Context(), newIncident(id, channelID)); err != nil {
		t.Fatalf("CreateIncident: %v", err)
	}
}

func fill(t testing.TB, s *kvstore.Store, id string, n int) {
	t.Helper()
	for i := range n {
		e := incident.NewEvent(t0.Add(time.Duration(i)*time.Second), "bob", incident.EventNote, fmt.Sprintf("note %05d: checked the dashboards", i))
		if _, err := s.AppendEvent(t.Context(), id, e); err != nil {
			t.Fatalf("AppendEvent %d: %v", i, err)
		}
	}
}

func rawGet(t *testing.T, kv kvstore.KV, key string) string {
	t.Helper()
	var b []byte
	if err := kv.Get(key, &b); err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return string(b)
}

// Every Store is stateless, so two "nodes" on one KV see each other's
// writes at once and share claims.
func TestNodesShareOneKV(t *testing.T) {
	kv := &pluginapi.MemoryStore{}
	a, b := kvstore.New(kv), kvstore.New(kv)
	mustCreate(t, a, "inc1", "ch1")
	if id, err := b.IncidentIDForChannel(t.Context(), "ch1"); err != nil || id != "inc1" {
		t.Fatalf("node b sees channel ch1 as %q, %v", id, err)
	}
	if won, _ := a.Claim(t.Context(), "page", 0); !won {
		t.Fatal("node a lost the first claim")
	}
	if won, _ := b.Claim(t.Context(), "page", 0); won {
		t.Fatal("node b won a claim node a holds")
	}
}

// A crash between starting chunk k+1 and advancing the head leaves the
// head behind; readers and appenders must step past it and the next append
// repair it.
func TestLaggingHead(t *testing.T) {
	for _, lag := range []string{"1", "0", ""} { // "": no head key at all
		t.Run("head="+lag, func(t *testing.T) {
			kv := &pluginapi.MemoryStore{}
			s := kvstore.New(kv)
			mustCreate(t, s, "inc1", "ch1")
			fill(t, s, "inc1", 70) // chunks 0 and 1 sealed, 2 open
			if h := rawGet(t, kv, "tl/v1/inc1/h"); h != "2" {
				t.Fatalf("head = %q, want 2", h)
			}
			if err := kv.Delete("tl/v1/inc1/h"); err != nil {
				t.Fatal(err)
			}
			if lag != "" {
				if _, err := kv.Set("tl/v1/inc1/h", []byte(lag)); err != nil {
					t.Fatal(err)
				}
			}
			s = kvstore.New(kv) // the process that comes back knows nothing
			events, err := s.Timeline(t.Context(), "inc1")
			if err != nil || len(events) != 70 {
				t.Fatalf("Timeline: %d events, %v; want 70", len(events), err)
			}
			e, err := s.AppendEvent(t.Context(), "inc1", incident.NewEvent(t0, "bob", incident.EventNote, "after the crash"))
			if err != nil || e.Seq != 70 {
				t.Fatalf("AppendEvent: Seq %d, %v; want 70", e.Seq, err)
			}
			if h := rawGet(t, kv, "tl/v1/inc1/h"); h != "2" {
				t.Errorf("head after an append = %q, want it repaired to 2", h)
			}
		})
	}
}

// The cost of an append does not depend on the timeline's length: the same
// calls, and bytes bounded by one chunk, at event 10 and at event 2,000.
func TestAppendCostIsFlat(t *testing.T) {
	kv := newCountingKV()
	s := kvstore.New(kv)
	mustCreate(t, s, "inc1", "ch1")
	measure := func() (calls, written int64) {
		var worst kvtest.Counts
		for range 64 { // two whole chunks, so one start of a chunk is in the window
			before := kv.Snapshot()
			fill(t, s, "inc1", 1)
			d := kv.Since(before)
			worst.Gets, worst.Sets = max(worst.Gets, d.Gets), max(worst.Sets, d.Sets)
			worst.Written = max(worst.Written, d.Written)
		}
		return worst.Gets + worst.Sets, worst.Written
	}
	fill(t, s, "inc1", 10)
	calls10, bytes10 := measure()
	fill(t, s, "inc1", 2000)
	calls2k, bytes2k := measure()
	if calls10 > 5 || calls2k > 5 {
		t.Errorf("worst append cost %d KV calls at 10 events and %d at 2,000; want at most 5", calls10, calls2k)
	}
	if bytes2k > bytes10+bytes10/10 {
		t.Errorf("worst append wrote %d bytes at 2,000 events, %d at 10", bytes2k, bytes10)
	}
}

func TestTimelineReadCost(t *testing.T) {
	kv := newCountingKV()
	s := kvstore.New(kv)
	mustCreate(t, s, "inc1", "ch1")
	have := 0
	for _, n := range []int{0, 1, 32, 33, 200} {
		fill(t, s, "inc1", n-have)
		have = n
		before := kv.Snapshot()
		events, err := s.Timeline(t.Context(), "inc1")
		if err != nil || len(events) != n {
			t.Fatalf("Timeline: %d events, %v; want %d", len(events), err, n)
		}
		// head + each chunk + a probe past a sealed last chunk; an empty
		// timeline reads the incident instead, to tell empty from unknown.
		chunks := max(int64((n+31)/32), 1)
		if gets := kv.Since(before).Gets; gets > chunks+2 {
			t.Errorf("reading %d events (%d chunks) took %d reads, want at most %d", n, chunks, gets, chunks+2)
		}
	}
}

func TestUpdateGivesUpWithConflict(t *testing.T) {
	kv := newCountingKV()
	s := kvstore.New(kv, kvstore.WithRetries(7, time.Microsecond, time.Microsecond))
	mustCreate(t, s, "inc1", "ch1")
	kv.Intercept(func(key string, o pluginapi.KVSetOptions) (bool, bool, error) {
		return key == "inc/v1/inc1", false, nil // every compare-and-set loses
	})
	before := kv.Snapshot()
	calls := 0
	_, err := s.UpdateIncident(t.Context(), "inc1", func(*incident.Incident) error { calls++; return nil })
	if !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("UpdateIncident = %v, want a conflict", err)
	}
	if calls != 7 || kv.Since(before).Sets != 7 {
		t.Errorf("mutate ran %d times and %d writes were tried; want 7 of each", calls, kv.Since(before).Sets)
	}
}

func TestInfrastructureErrorsAreWrapped(t *testing.T) {
	kv := newCountingKV()
	s := kvstore.New(kv)
	mustCreate(t, s, "inc1", "ch1")
	errDown := errors.New("database is down")
	kv.FailGets(func(string) error { return errDown })
	// Another process's store: it has read nothing yet (a store serves a
	// read it made or wrote a moment ago from memory).
	s = kvstore.New(kv)
	_, err := s.GetIncident(t.Context(), "inc1")
	if !errors.Is(err, errDown) || incident.KindOf(err) != incident.KindInternal || !strings.Contains(err.Error(), "inc1") {
		t.Errorf("GetIncident with the KV down = %v", err)
	}
	_, err = s.AppendEvent(t.Context(), "inc1", incident.NewEvent(t0, "bob", incident.EventNote, "x"))
	if !errors.Is(err, errDown) || incident.KindOf(err) != incident.KindInternal {
		t.Errorf("AppendEvent with the KV down = %v", err)
	}
}

// If the channel mapping cannot be written, the record written just before
// it is removed again.
func TestCreateUndoesRecordWhenChannelWriteFails(t *testing.T) {
	kv := newCountingKV()
	s := kvstore.New(kv)
	errDown := errors.New("connection reset")
	kv.Intercept(func(key string, _ pluginapi.KVSetOptions) (bool, bool, error) {
		if strings.HasPrefix(key, "ch/") {
			return true, false, errDown
		}
		return false, false, nil
	})
	err := s.CreateIncident(t.Context(), newIncident("inc1", "ch1"))
	if !errors.Is(err, errDown) {
		t.Fatalf("CreateIncident = %v, want the KV's error", err)
	}
	if raw := rawGet(t, kv, "inc/v1/inc1"); raw != "" {
		t.Errorf("record left behind: %s", raw)
	}
}

func TestClaimRoundsTTLUp(t *testing.T) {
	for ttl, want := range map[time.Duration]int64{
		0:                       0,
		time.Nanosecond:         1,
		300 * time.Millisecond:  1,
		time.Second:             1,
		1500 * time.Millisecond: 2,
		time.Hour:               3600,
	} {
		kv := newCountingKV()
		var got pluginapi.KVSetOptions
		kv.Intercept(func(_ string, o pluginapi.KVSetOptions) (bool, bool, error) {
			got = o
			return false, false, nil
		})
		if ok, err := kvstore.New(kv).Claim(t.Context(), "k", ttl); !ok || err != nil {
			t.Fatalf("Claim(%v) = %v, %v", ttl, ok, err)
		}
		if !got.Atomic || got.ExpireInSeconds != want {
			t.Errorf("Claim(%v) wrote atomic=%v expiry=%ds, want atomic with %ds", ttl, got.Atomic, got.ExpireInSeconds, want)
		}
	}
}

func TestKeysStayValid(t *testing.T) {
	kv := &pluginapi.MemoryStore{} // rejects keys over 150 runes and the mmi_ prefix
	s := kvstore.New(kv)
	id := strings.Repeat("x", 64)
	mustCreate(t, s, id, strings.Repeat("c", 26))
	fill(t, s, id, 40)
	for _, key := range []string{"k", strings.Repeat("ключ", 100)} {
		if ok, err := s.Claim(t.Context(), key, 0); !ok || err != nil {
			t.Errorf("Claim(%d runes) = %v, %v", len([]rune(key)), ok, err)
		}
	}
	keys, err := kv.ListKeys(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		for _, reserved := range []string{"mmi_", "once_", "mutex_", "cron_"} {
			if strings.HasPrefix(k, reserved) {
				t.Errorf("key %q uses the reserved prefix %s", k, reserved)
			}
		}
	}
	if err := s.CreateIncident(t.Context(), newIncident("a/h", "ch9")); !errors.Is(err, incident.ErrInvalid) {
		t.Errorf("CreateIncident(id with a slash) = %v, want invalid", err)
	}
	if err := s.CreateIncident(t.Context(), newIncident(strings.Repeat("y", 65), "ch9")); !errors.Is(err, incident.ErrInvalid) {
		t.Errorf("CreateIncident(65-rune id) = %v, want invalid", err)
	}
}

// A resolve and a reopen race: the resolve's index write is held back until
// the reopen has finished. The index must still end up naming the (open)
// incident, which only holds if the reopen's sync writes even though the
// index already listed the incident, so that the held-back write, decided on
// the resolved record, loses its compare-and-set.
func TestActiveIndexSurvivesRacingStatusChanges(t *testing.T) {
	kv := newCountingKV()
	s := kvstore.New(kv)
	mustCreate(t, s, "inc1", "ch1")

	held, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	kv.Intercept(func(key string, _ pluginapi.KVSetOptions) (bool, bool, error) {
		if strings.HasPrefix(key, "idx/v2/active/") && first.CompareAndSwap(false, true) {
			close(held)
			<-release
		}
		return false, false, nil
	})

	resolved := make(chan error)
	go func() {
		_, err := s.UpdateIncident(t.Context(), "inc1", func(inc *incident.Incident) error {
			_, err := inc.Resolve(t0, "bob", "")
			return err
		})
		resolved <- err
	}()
	<-held // the resolve is about to write the index, having seen "resolved"
	if _, err := s.UpdateIncident(t.Context(), "inc1", func(inc *incident.Incident) error {
		_, err := inc.Reopen(t0, "carol", "")
		return err
	}); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	close(release)
	if err := <-resolved; err != nil {
		t.Fatalf("resolve: %v", err)
	}

	list, _, err := s.ListActive(t.Context(), 0)
	if err != nil || len(list) != 1 || list[0].ID != "inc1" {
		t.Fatalf("ListActive after resolve+reopen = %v, %v; want the reopened incident", list, err)
	}
}

// Creating an incident and changing its status cost the same calls and
// about the same bytes at 10 and at 3,000 incidents: the month index is an
// append-only log in chunks, the active index is sharded.
func TestIndexCostIsFlat(t *testing.T) {
	kv := newCountingKV()
	s := kvstore.New(kv)
	n := 0
	measure := func() (calls, written int64) {
		var worst kvtest.Counts
		for range 2 * 128 { // two whole log chunks, so one start of a chunk is in the window
			n++
			id := fmt.Sprintf("i%05d", n)
			before := kv.Snapshot()
			mustCreate(t, s, id, "c"+id)
			if _, err := s.UpdateIncident(t.Context(), id, func(inc *incident.Incident) error {
				_, err := inc.Resolve(t0, "bob", "")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			d := kv.Since(before)
			worst.Gets, worst.Sets = max(worst.Gets, d.Gets), max(worst.Sets, d.Sets)
			worst.Written = max(worst.Written, d.Written)
		}
		return worst.Gets + worst.Sets, worst.Written
	}
	mustCreate(t, s, "first", "cfirst") // the month's first incident also lists the month
	n++
	calls10, bytes10 := measure()
	for n < 3000 { // open incidents make the active shards grow
		n++
		mustCreate(t, s, fmt.Sprintf("i%05d", n), fmt.Sprintf("ci%05d", n))
	}
	calls3k, bytes3k := measure()
	if calls3k != calls10 {
		t.Errorf("create+resolve costs %d KV calls at 3,000 incidents, %d at few", calls3k, calls10)
	}
	// The active shards hold 3,000/32 entries (id and creation time) of up
	// to 25 bytes each, written twice; the rest is flat.
	if bytes3k > bytes10+2*3000/32*25 {
		t.Errorf("create+resolve wrote %d bytes at 3,000 incidents, %d at few", bytes3k, bytes10)
	}
	list, err := s.ListSince(t.Context(), t0.Add(-time.Hour))
	if err != nil || len(list) != n {
		t.Fatalf("ListSince = %d incidents, %v; want %d", len(list), err, n)
	}
	active, _, err := s.ListActive(t.Context(), 0)
	if err != nil || len(active) != n-2*2*128 {
		t.Fatalf("ListActive = %d incidents, %v; want %d", len(active), err, n-2*2*128)
	}
}

// Indexes written by the v1 format (one active set, one set per month) are
// still read; the v1 active set moves into the shards at the first use.
func TestV1IndexesAreStillRead(t *testing.T) {
	kv := newCountingKV()
	s := kvstore.New(kv)
	mustCreate(t, s, "new1", "c1")
	old := newIncident("old1", "c2")
	old.Revision = 1
	raw, _ := json.Marshal(old)
	for key, value := range map[string]string{
		"inc/v1/old1":          string(raw),
		"ch/v1/c2":             "old1",
		"idx/v1/active":        `{"r":3,"ids":["old1"]}`,
		"idx/v1/month/2026-03": `{"r":1,"ids":["old1"]}`,
	} {
		if _, err := kv.Set(key, []byte(value)); err != nil {
			t.Fatal(err)
		}
	}
	s = kvstore.New(kv) // a process of the new version starts
	since, err := s.ListSince(t.Context(), t0.Add(-time.Hour))
	if err != nil || len(since) != 2 {
		t.Fatalf("ListSince = %v, %v; want old1 and new1", since, err)
	}
	active, _, err := s.ListActive(t.Context(), 0)
	if err != nil || len(active) != 2 {
		t.Fatalf("ListActive = %v, %v; want old1 and new1", active, err)
	}
	if v := rawGet(t, kv, "idx/v1/active"); v != "" {
		t.Errorf("the v1 active index is still there: %s", v)
	}
	if _, err := s.UpdateIncident(t.Context(), "old1", func(inc *incident.Incident) error {
		_, err := inc.Resolve(t0, "bob", "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if active, _, _ := s.ListActive(t.Context(), 0); len(active) != 1 || active[0].ID != "new1" {
		t.Errorf("after resolving the v1 incident: %v", active)
	}
}

// TestDocNamesPages lists documents across several KVList pages, among
// other keys of the plugin.
func TestDocNamesPages(t *testing.T) {
	kv := kvtest.New()
	s := kvstore.New(kv)
	ctx := t.Context()
	for i := range 2500 {
		if ok, err := s.CompareAndSetDoc(ctx, fmt.Sprintf("actions/v1/i%04d", i), nil, []byte(`{}`)); err != nil || !ok {
			t.Fatal(err)
		}
		if _, err := kv.Set(fmt.Sprintf("other/%04d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	before := kv.Snapshot()
	names, err := s.DocNames(ctx, "actions/v1/")
	if err != nil || len(names) != 2500 || names[0] != "actions/v1/i0000" || names[2499] != "actions/v1/i2499" {
		t.Fatalf("DocNames: %d names, %v", len(names), err)
	}
	if got := kv.Since(before); got.Lists != 6 || got.Gets != 0 {
		t.Fatalf("DocNames over 5,000 keys cost %+v; want 6 lists", got)
	}
}

// What a process just read or wrote serves its next step: an update right
// after a read is one write, a read right after a write is none, an append
// after an append is one write; and when another process changed the
// record meanwhile, the guess fails and the update still lands on the
// current record.
func TestRecentRecordsSaveCalls(t *testing.T) {
	kv := newCountingKV()
	s := kvstore.New(kv)
	mustCreate(t, s, "inc1", "ch1")
	ctx := t.Context()
	if _, err := s.AppendEvent(ctx, "inc1", incident.NewEvent(t0, "bob", incident.EventNote, "first")); err != nil {
		t.Fatal(err)
	}
	before := kv.Snapshot()
	if _, err := s.AppendEvent(ctx, "inc1", incident.NewEvent(t0, "bob", incident.EventNote, "second")); err != nil {
		t.Fatal(err)
	}
	if c := kv.Since(before); c.Calls() != 1 {
		t.Errorf("an append after an append: %+v, want one write", c)
	}
	before = kv.Snapshot()
	if _, err := s.UpdateIncident(ctx, "inc1", func(i *incident.Incident) error { i.Title = "x"; return nil }); err != nil {
		t.Fatal(err)
	}
	if c := kv.Since(before); c.Calls() != 1 {
		t.Errorf("an update after a write: %+v, want one write", c)
	}
	before = kv.Snapshot()
	if inc, err := s.GetIncident(ctx, "inc1"); err != nil || inc.Title != "x" {
		t.Fatalf("read after the write: %+v %v", inc, err)
	}
	if c := kv.Since(before); c.Calls() != 0 {
		t.Errorf("a read right after a write: %+v, want none", c)
	}
	// Another process changes the record; this one's guess is stale.
	other := kvstore.New(kv)
	if _, err := other.UpdateIncident(ctx, "inc1", func(i *incident.Incident) error { i.Summary = "by the other"; return nil }); err != nil {
		t.Fatal(err)
	}
	out, err := s.UpdateIncident(ctx, "inc1", func(i *incident.Incident) error { i.Impact = "by this one"; return nil })
	if err != nil || out.Summary != "by the other" || out.Impact != "by this one" {
		t.Fatalf("update over a stale guess: %+v %v", out, err)
	}
	if _, err := other.AppendEvent(ctx, "inc1", incident.NewEvent(t0, "amy", incident.EventNote, "by the other")); err != nil {
		t.Fatal(err)
	}
	if e, err := s.AppendEvent(ctx, "inc1", incident.NewEvent(t0, "bob", incident.EventNote, "third")); err != nil || e.Seq != 3 {
		t.Fatalf("append over a stale tail: %+v %v", e, err)
	}
}
