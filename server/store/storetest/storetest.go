// Package storetest is the contract every incident.Store must meet, as one
// suite that each implementation runs from its own tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) incident.Store { return newStore(t) })
//	}
//
// It covers every method and every error kind, and runs the concurrency
// cases (parallel appends, claims and updates) that matter most under -race.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Run runs the contract suite. newStore must return an empty store, and
// clean it up through t; each subtest gets its own, and subtests run in
// parallel.
func Run(t *testing.T, newStore func(t *testing.T) incident.Store) {
	cases := []struct {
		name string
		test func(*testing.T, incident.Store)
	}{
		{"CreateGetUpdate", testCreateGetUpdate},
		{"InsertThenIndex", testInsertThenIndex},
		{"CreateRejectsEmptyID", testCreateRejectsEmptyID},
		{"UpdateMutateErrorWritesNothing", testUpdateMutateError},
		{"UpdateKeepsIdentity", testUpdateKeepsIdentity},
		{"CreateConflictDuplicateID", testConflictDuplicateID},
		{"CreateConflictDuplicateChannel", testConflictDuplicateChannel},
		{"Delete", testDelete},
		{"IncidentIDForChannel", testIncidentIDForChannel},
		{"ListActive", testListActive},
		{"ListSince", testListSince},
		{"ListIDsPages", testListIDs},
		{"GetIncidentsAndDocs", testGetMany},
		{"TimelineOrderAndSeq", testTimelineOrder},
		{"TimelineManyChunks", testTimelineManyChunks},
		{"TimelineLongEvents", testTimelineLongEvents},
		{"TimelineEmptyAndMissing", testTimelineEmptyAndMissing},
		{"TimelineTail", testTimelineTail},
		{"Claim", testClaim},
		{"ClaimExpires", testClaimExpires},
		{"ConcurrentAppends", testConcurrentAppends},
		{"AppendBatches", testAppendBatches},
		{"ConcurrentBatches", testConcurrentBatches},
		{"KeyedAppendsLandOnce", testKeyedAppendsLandOnce},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentStatusChanges", testConcurrentStatusChanges},
		{"Docs", testDocs},
		{"ConcurrentDocUpdates", testConcurrentDocUpdates},
		{"DocNames", func(t *testing.T, s incident.Store) { testDocNames(t, s) }},
		{"ImportIncident", testImportIncident},
		{"ImportResolvedIsNotActive", testImportResolvedIsNotActive},
		{"ImportConflicts", testImportConflicts},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, newStore(t))
		})
	}
}

// t0 is the suite's fixed "now"; no test depends on the wall clock except
// claim expiry, which cannot be faked through the Store interface.
var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func newIncident(id, channelID string, at time.Time) *incident.Incident {
	inc := &incident.Incident{
		ID:        id,
		Title:     "Checkout fails for " + id,
		Summary:   "Payments return 502",
		Severity:  incident.S2,
		TeamID:    "team1",
		ChannelID: channelID,
		Roles:     map[incident.Role]string{incident.RoleIM: "alice"},
	}
	inc.Start(at, "alice")
	return inc
}

func create(t *testing.T, s incident.Store, id, channelID string, at time.Time) *incident.Incident {
	t.Helper()
	inc := newIncident(id, channelID, at)
	if err := s.CreateIncident(t.Context(), inc); err != nil {
		t.Fatalf("CreateIncident(%s): %v", id, err)
	}
	return inc
}

func update(t *testing.T, s incident.Store, id string, mutate func(*incident.Incident) error) *incident.Incident {
	t.Helper()
	inc, err := s.UpdateIncident(t.Context(), id, mutate)
	if err != nil {
		t.Fatalf("UpdateIncident(%s): %v", id, err)
	}
	return inc
}

func get(t *testing.T, s incident.Store, id string) *incident.Incident {
	t.Helper()
	inc, err := s.GetIncident(t.Context(), id)
	if err != nil {
		t.Fatalf("GetIncident(%s): %v", id, err)
	}
	return inc
}

func appendEvent(t *testing.T, s incident.Store, id string, e incident.Event) incident.Event {
	t.Helper()
	out, err := s.AppendEvent(t.Context(), id, e)
	if err != nil {
		t.Fatalf("AppendEvent(%s): %v", id, err)
	}
	return out
}

func timeline(t *testing.T, s incident.Store, id string) []incident.Event {
	t.Helper()
	events, err := s.Timeline(t.Context(), id)
	if err != nil {
		t.Fatalf("Timeline(%s): %v", id, err)
	}
	return events
}

// wantKind fails unless err is an error of the kind sentinel stands for.
func wantKind(t *testing.T, what string, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: got error %v (kind %v), want kind %v", what, err, incident.KindOf(err), incident.KindOf(sentinel))
	}
}

// sameJSON compares values by their stored form, which is what a store
// promises to keep (time zones and monotonic readings are not).
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: encode got: %v", what, err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("%s: encode want: %v", what, err)
	}
	if string(g) != string(w) {
		t.Fatalf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func ids(list []*incident.Incident) []string {
	out := make([]string, len(list))
	for i, inc := range list {
		out[i] = inc.ID
	}
	return out
}

func wantIDs(t *testing.T, what string, list []*incident.Incident, err error, want ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got := ids(list); !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func listActive(t *testing.T, s incident.Store, want ...string) {
	t.Helper()
	list, total, err := s.ListActive(t.Context(), 0)
	wantIDs(t, "ListActive", list, err, want...)
	if total != len(want) {
		t.Errorf("ListActive counts %d active, want %d", total, len(want))
	}
}

func listSince(t *testing.T, s incident.Store, since time.Time, want ...string) {
	t.Helper()
	list, err := s.ListSince(t.Context(), since)
	wantIDs(t, "ListSince("+since.Format(time.RFC3339Nano)+")", list, err, want...)
}

func note(i int, text string) incident.Event {
	return incident.NewEvent(t0.Add(time.Duration(i)*time.Second), "bob", incident.EventNote, text)
}

// poll calls cond until it is true or the deadline passes.
func poll(ctx context.Context, deadline time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return cond()
		case <-tick.C:
		}
	}
}
