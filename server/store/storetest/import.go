package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// importedTimeline builds n events with Seqs 0..n-1, some long, so that the
// stores' chunking by count and by size both come into play.
func importedTimeline(n int, at time.Time) []incident.Event {
	events := make([]incident.Event, n)
	for i := range events {
		text := fmt.Sprintf("event %03d", i)
		if i%7 == 3 {
			text += strings.Repeat("ж", incident.MaxTextRunes-20)
		}
		events[i] = incident.NewEvent(at.Add(time.Duration(i)*time.Second), "alice", incident.EventNote, text).With("n", fmt.Sprint(i))
		events[i].Seq = i
		events[i].Key = fmt.Sprintf("k%d", i)
	}
	return events
}

func testImportIncident(t *testing.T, s incident.Store) {
	ctx := t.Context()
	for _, n := range []int{0, 1, 32, 33, 100} {
		id, ch := fmt.Sprintf("imp%d", n), fmt.Sprintf("chimp%d", n)
		inc := newIncident(id, ch, t0.Add(time.Duration(n)*time.Minute))
		inc.Revision = 17
		events := importedTimeline(n, inc.CreatedAt)
		if err := s.ImportIncident(ctx, inc, events); err != nil {
			t.Fatalf("ImportIncident(%d events): %v", n, err)
		}
		got := get(t, s, id)
		sameJSON(t, "imported record", got, inc) // Revision kept, as is
		sameJSON(t, fmt.Sprintf("timeline of %d events", n), timeline(t, s, id), events)
		if owner, err := s.IncidentIDForChannel(ctx, ch); err != nil || owner != id {
			t.Fatalf("IncidentIDForChannel(%s) = %q, %v; want %s", ch, owner, err, id)
		}
		// The timeline goes on where the copy ended.
		if e := appendEvent(t, s, id, note(0, "after import")); e.Seq != n {
			t.Fatalf("append after importing %d events got Seq %d", n, e.Seq)
		}
		if tail, err := s.TimelineTail(ctx, id, 2); err != nil || len(tail) != min(n+1, 2) || tail[len(tail)-1].Text != "after import" {
			t.Fatalf("TimelineTail after import = %+v, %v", tail, err)
		}
	}
	list, total, err := s.ListActive(ctx, 0)
	if err != nil || total != 5 || len(list) != 5 {
		t.Fatalf("ListActive after 5 imports: %d of %d, %v", len(list), total, err)
	}
	since, err := s.ListSince(ctx, t0.Add(time.Minute))
	wantIDs(t, "ListSince after imports", since, err, "imp100", "imp33", "imp32", "imp1")
	ids, err := s.IncidentIDsSince(ctx, t0)
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []string{"imp0", "imp1", "imp100", "imp32", "imp33"}) {
		t.Fatalf("IncidentIDsSince = %v, %v", ids, err)
	}
}

func testImportResolvedIsNotActive(t *testing.T, s incident.Store) {
	ctx := t.Context()
	inc := newIncident("old", "chold", t0)
	if _, err := inc.Resolve(t0.Add(time.Hour), "alice", "fixed"); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportIncident(ctx, inc, importedTimeline(3, t0)); err != nil {
		t.Fatal(err)
	}
	if list, total, err := s.ListActive(ctx, 0); err != nil || total != 0 || len(list) != 0 {
		t.Fatalf("a resolved import is listed as active: %d, %v", total, err)
	}
	if got := get(t, s, "old"); got.Status != incident.StatusResolved || got.Resolution != "fixed" {
		t.Fatalf("imported record = %+v", got)
	}
}

func testImportConflicts(t *testing.T, s incident.Store) {
	ctx := t.Context()
	orig := create(t, s, "inc1", "ch1", t0)
	appendEvent(t, s, "inc1", note(0, "original"))

	copyOf := newIncident("inc1", "ch9", t0.Add(time.Hour))
	err := s.ImportIncident(ctx, copyOf, importedTimeline(40, t0))
	wantKind(t, "ImportIncident(taken id)", err, incident.ErrConflict)
	other := newIncident("inc2", "ch1", t0)
	err = s.ImportIncident(ctx, other, importedTimeline(40, t0))
	wantKind(t, "ImportIncident(taken channel)", err, incident.ErrConflict)

	sameJSON(t, "original record after refused imports", get(t, s, "inc1"), orig)
	if tl := timeline(t, s, "inc1"); len(tl) != 1 || tl[0].Text != "original" {
		t.Fatalf("original timeline after refused imports: %+v", tl)
	}
	if _, err := s.GetIncident(ctx, "inc2"); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("a refused import left incident inc2 behind: %v", err)
	}
	if owner, err := s.IncidentIDForChannel(ctx, "ch9"); err == nil {
		t.Fatalf("a refused import claimed channel ch9 for %s", owner)
	}

	bad := importedTimeline(3, t0)
	bad[2].Seq = 5
	err = s.ImportIncident(ctx, newIncident("inc3", "ch3", t0), bad)
	wantKind(t, "ImportIncident(gap in seqs)", err, incident.ErrInvalid)
}
