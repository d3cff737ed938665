package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func testTimelineOrder(t *testing.T, s incident.Store) {
	inc := create(t, s, "inc1", "ch1", t0)
	started := inc.Start(t0, "alice")
	in := []incident.Event{
		started,
		incident.NewEvent(t0.Add(time.Minute), "bob", incident.EventStatusUpdate, "rolling back 4.2"),
		incident.NewEvent(t0.Add(2*time.Minute), "bob", incident.EventSeverityChanged, "").
			With(incident.DataFrom, "S2").With(incident.DataTo, "S1"),
		incident.NewEvent(t0.Add(3*time.Minute), incident.ActorSystem, incident.EventRoleAssigned, "").
			With(incident.DataRole, "l1").With(incident.DataTo, "carol"),
		incident.NewEvent(t0.Add(4*time.Minute), "carol", incident.EventNote, "ünïcödé, \"quotes\" and\nnewlines"),
	}
	for i, e := range in {
		e.Seq = 99 // the store assigns Seq, whatever the caller sent
		out := appendEvent(t, s, "inc1", e)
		in[i].Seq = i
		sameJSON(t, fmt.Sprintf("AppendEvent #%d result", i), out, in[i])
	}
	sameJSON(t, "Timeline", timeline(t, s, "inc1"), in)
}

func testTimelineManyChunks(t *testing.T, s incident.Store) {
	create(t, s, "inc1", "ch1", t0)
	const n = 200
	for i := range n {
		if e := appendEvent(t, s, "inc1", note(i, fmt.Sprintf("event %d", i))); e.Seq != i {
			t.Fatalf("append #%d got Seq %d", i, e.Seq)
		}
	}
	events := timeline(t, s, "inc1")
	if len(events) != n {
		t.Fatalf("Timeline has %d events, want %d", len(events), n)
	}
	for i, e := range events {
		if e.Seq != i || e.Text != fmt.Sprintf("event %d", i) || !e.At.Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("event %d = %+v", i, e)
		}
	}
}

// testTimelineLongEvents appends events at the text limit, so that a store
// that bounds its chunks by bytes as well as by count crosses that bound.
func testTimelineLongEvents(t *testing.T, s incident.Store) {
	create(t, s, "inc1", "ch1", t0)
	const n = 40
	for i := range n {
		text := fmt.Sprintf("%03d", i) + strings.Repeat("ж", incident.MaxTextRunes-3)
		if e := appendEvent(t, s, "inc1", note(i, text)); e.Seq != i {
			t.Fatalf("append #%d got Seq %d", i, e.Seq)
		}
	}
	events := timeline(t, s, "inc1")
	if len(events) != n {
		t.Fatalf("Timeline has %d events, want %d", len(events), n)
	}
	for i, e := range events {
		if e.Seq != i || !strings.HasPrefix(e.Text, fmt.Sprintf("%03d", i)) || len([]rune(e.Text)) != incident.MaxTextRunes {
			t.Fatalf("event %d: Seq %d, text %.10q… (%d runes)", i, e.Seq, e.Text, len([]rune(e.Text)))
		}
	}
}

func testTimelineEmptyAndMissing(t *testing.T, s incident.Store) {
	ctx := t.Context()
	create(t, s, "inc1", "ch1", t0)
	if events := timeline(t, s, "inc1"); len(events) != 0 {
		t.Errorf("new incident's Timeline = %+v, want empty", events)
	}
	_, err := s.Timeline(ctx, "nope")
	wantKind(t, "Timeline(unknown)", err, incident.ErrNotFound)
	_, err = s.AppendEvent(ctx, "nope", note(0, "lost"))
	wantKind(t, "AppendEvent(unknown)", err, incident.ErrNotFound)
	_, err = s.Timeline(ctx, "nope")
	wantKind(t, "Timeline(unknown) after a refused append", err, incident.ErrNotFound)
}

// testTimelineTail reads the end of timelines of several lengths, across
// chunk boundaries, and of an empty and a missing incident.
func testTimelineTail(t *testing.T, s incident.Store) {
	create(t, s, "empty", "ch0", t0)
	if got, err := s.TimelineTail(t.Context(), "empty", 5); err != nil || len(got) != 0 {
		t.Fatalf("TimelineTail of an empty timeline = %v, %v; want no events", got, err)
	}
	_, err := s.TimelineTail(t.Context(), "nosuch", 5)
	wantKind(t, "TimelineTail of a missing incident", err, incident.ErrNotFound)

	create(t, s, "inc1", "ch1", t0)
	const total = 100
	for i := range total {
		appendEvent(t, s, "inc1", note(i, fmt.Sprintf("event %d", i)).With("k", fmt.Sprint(i)))
	}
	all := timeline(t, s, "inc1")
	for _, n := range []int{0, 1, 31, 32, 33, 50, 64, 65, 99, 100, 101, 500} {
		got, err := s.TimelineTail(t.Context(), "inc1", n)
		if err != nil {
			t.Fatalf("TimelineTail(%d): %v", n, err)
		}
		want := all[max(0, total-n):]
		if len(want) == 0 {
			want = []incident.Event{}
		}
		sameJSON(t, fmt.Sprintf("TimelineTail(%d)", n), got, want)
	}
}
