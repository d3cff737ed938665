package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func testConcurrentAppends(t *testing.T, s incident.Store) {
	create(t, s, "inc1", "ch1", t0)
	const writers, each = 16, 50
	seqs := make([][]int, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e, err := s.AppendEvent(t.Context(), "inc1", note(i, fmt.Sprintf("w%d-%d", w, i)))
				if err != nil {
					t.Errorf("writer %d append %d: %v", w, i, err)
					return
				}
				seqs[w] = append(seqs[w], e.Seq)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	const n = writers * each
	events := timeline(t, s, "inc1")
	if len(events) != n {
		t.Fatalf("Timeline has %d events, want %d", len(events), n)
	}
	textAt := make(map[string]int, n)
	for i, e := range events {
		if e.Seq != i {
			t.Fatalf("event %d has Seq %d", i, e.Seq)
		}
		if _, dup := textAt[e.Text]; dup {
			t.Fatalf("event %q stored twice", e.Text)
		}
		textAt[e.Text] = i
	}
	for w := range writers {
		// Each writer's events landed where AppendEvent said, in its order.
		if !slices.IsSorted(seqs[w]) {
			t.Errorf("writer %d got Seqs out of order: %v", w, seqs[w])
		}
		for i, seq := range seqs[w] {
			if at, ok := textAt[fmt.Sprintf("w%d-%d", w, i)]; !ok || at != seq {
				t.Fatalf("writer %d event %d: AppendEvent said Seq %d, timeline has it at %d (found %v)", w, i, seq, at, ok)
			}
		}
	}
}

// A batch lands in order with consecutive Seqs, also one that spans
// several chunks of a store and one of long events; an empty batch is no
// write; an unknown incident takes none.
func testAppendBatches(t *testing.T, s incident.Store) {
	create(t, s, "inc1", "ch1", t0)
	ctx := t.Context()
	if out, err := s.AppendEvents(ctx, "inc1", nil); err != nil || len(out) != 0 {
		t.Fatalf("empty batch: %v %v", out, err)
	}
	var batch []incident.Event
	for i := range 100 {
		batch = append(batch, note(i, fmt.Sprintf("b%d", i)))
	}
	batch[50].Text = strings.Repeat("long ", 8000) // a chunk fills by bytes too
	out, err := s.AppendEvents(ctx, "inc1", batch)
	if err != nil || len(out) != len(batch) {
		t.Fatalf("AppendEvents: %d events, %v", len(out), err)
	}
	more, err := s.AppendEvents(ctx, "inc1", []incident.Event{note(100, "after"), note(101, "after2")})
	if err != nil || more[0].Seq != 100 || more[1].Seq != 101 {
		t.Fatalf("second batch: %v %v", more, err)
	}
	events := timeline(t, s, "inc1")
	if len(events) != 102 {
		t.Fatalf("timeline has %d events, want 102", len(events))
	}
	for i, e := range events[:100] {
		if e.Seq != i || out[i].Seq != i || e.Text != batch[i].Text {
			t.Fatalf("event %d: seq %d (returned %d), text %.20q, want %.20q", i, e.Seq, out[i].Seq, e.Text, batch[i].Text)
		}
	}
	if _, err := s.AppendEvents(ctx, "nope", batch[:2]); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("unknown incident: %v", err)
	}
}

// Concurrent batches all land, each event once, each batch in its order.
func testConcurrentBatches(t *testing.T, s incident.Store) {
	create(t, s, "inc1", "ch1", t0)
	const writers, batches, size = 8, 10, 7
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var batch []incident.Event
				for i := range size {
					batch = append(batch, note(i, fmt.Sprintf("w%d-b%d-%d", w, b, i)))
				}
				if _, err := s.AppendEvents(t.Context(), "inc1", batch); err != nil {
					t.Errorf("writer %d batch %d: %v", w, b, err)
					return
				}
			}
		})
	}
	wg.Wait()
	events := timeline(t, s, "inc1")
	if len(events) != writers*batches*size {
		t.Fatalf("timeline has %d events, want %d", len(events), writers*batches*size)
	}
	at := map[string]int{}
	for i, e := range events {
		if _, dup := at[e.Text]; dup || e.Seq != i {
			t.Fatalf("event %d (%s): seq %d, twice %v", i, e.Text, e.Seq, dup)
		}
		at[e.Text] = i
	}
	for w := range writers {
		for b := range batches {
			for i := 1; i < size; i++ {
				if at[fmt.Sprintf("w%d-b%d-%d", w, b, i)] < at[fmt.Sprintf("w%d-b%d-%d", w, b, i-1)] {
					t.Fatalf("batch w%d-b%d out of order", w, b)
				}
			}
		}
	}
}

func testConcurrentClaims(t *testing.T, s incident.Store) {
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			ok, err := s.Claim(t.Context(), "handover/2026-03-10", 0)
			if err != nil {
				t.Errorf("Claim: %v", err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Fatalf("%d of 32 concurrent claims won, want exactly 1", n)
	}
}

func testConcurrentUpdates(t *testing.T, s incident.Store) {
	create(t, s, "inc1", "ch1", t0)
	const writers = 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			_, err := s.UpdateIncident(t.Context(), "inc1", func(inc *incident.Incident) error {
				inc.Summary += fmt.Sprintf("[%d]", w)
				return nil
			})
			if err != nil {
				t.Errorf("writer %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	got := get(t, s, "inc1")
	for w := range writers {
		if n := strings.Count(got.Summary, fmt.Sprintf("[%d]", w)); n != 1 {
			t.Errorf("update %d is in the summary %d times: %q", w, n, got.Summary)
		}
	}
	if got.Revision != 1+writers {
		t.Errorf("Revision = %d, want %d", got.Revision, 1+writers)
	}
}

// testConcurrentStatusChanges races resolves against reopens: whatever
// order they land in, the active list must agree with the final status.
func testConcurrentStatusChanges(t *testing.T, s incident.Store) {
	create(t, s, "inc1", "ch1", t0)
	create(t, s, "inc2", "ch2", t0.Add(-1))
	toggle := func(inc *incident.Incident) error {
		var err error
		if inc.Status == incident.StatusResolved {
			_, err = inc.Reopen(t0, "bob", "")
		} else {
			_, err = inc.Resolve(t0, "bob", "")
		}
		return err
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 6 + w%3 {
				if _, err := s.UpdateIncident(t.Context(), "inc1", toggle); err != nil {
					t.Errorf("toggle %d.%d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if get(t, s, "inc1").Status.Active() {
		listActive(t, s, "inc1", "inc2")
	} else {
		listActive(t, s, "inc2")
	}
}

// A keyed event lands once: appending its key again (alone, in a batch,
// or from many writers at once, also across a chunk's seal) returns the
// stored event and adds nothing.
func testKeyedAppendsLandOnce(t *testing.T, s incident.Store) {
	create(t, s, "inc1", "ch1", t0)
	keyed := func(i int, key string) incident.Event {
		e := note(i, "keyed "+key)
		e.Key = key
		return e
	}
	first, err := s.AppendEvent(t.Context(), "inc1", keyed(0, "k0"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.AppendEvent(t.Context(), "inc1", keyed(0, "k0"))
	if err != nil || again.Seq != first.Seq || again.Text != first.Text {
		t.Fatalf("appending key k0 again: %+v, %v; want the stored %+v", again, err, first)
	}
	batch, err := s.AppendEvents(t.Context(), "inc1", []incident.Event{keyed(1, "k1"), keyed(0, "k0"), note(2, "plain")})
	if err != nil || len(batch) != 3 || batch[1].Seq != first.Seq || batch[0].Seq != 1 || batch[2].Seq != 2 {
		t.Fatalf("a batch with a stored key: %+v, %v", batch, err)
	}
	// Writers race on each key in turn (all of them on r0, then on r1...),
	// while the timeline crosses chunks.
	const writers, keys = 8, 40
	for i := range keys {
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				if _, err := s.AppendEvent(t.Context(), "inc1", keyed(i, fmt.Sprintf("r%d", i))); err != nil {
					t.Errorf("writer %d key r%d: %v", w, i, err)
				}
			})
		}
		wg.Wait()
	}
	events := timeline(t, s, "inc1")
	seen := map[string]int{}
	for i, e := range events {
		if e.Seq != i {
			t.Fatalf("event %d has Seq %d", i, e.Seq)
		}
		seen[e.Key]++
	}
	for k, n := range seen {
		if k != "" && n != 1 {
			t.Errorf("key %s stored %d times", k, n)
		}
	}
	if want := 2 + keys + 1; len(events) != want {
		t.Errorf("%d events, want %d", len(events), want)
	}
}
