package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func testCreateGetUpdate(t *testing.T, s incident.Store) {
	ctx := t.Context()
	inc := create(t, s, "inc1", "ch1", t0)
	if inc.Revision != 1 {
		t.Errorf("after CreateIncident the caller's Revision = %d, want 1", inc.Revision)
	}
	want := inc.Clone()
	sameJSON(t, "GetIncident after create", get(t, s, "inc1"), want)

	got := update(t, s, "inc1", func(inc *incident.Incident) error {
		_, err := inc.ChangeSeverity(t0.Add(time.Minute), "bob", incident.S1)
		inc.Roles[incident.RoleL1] = "carol"
		return err
	})
	want.Severity, want.HighestSeverity, want.UpdatedAt = incident.S1, incident.S1, t0.Add(time.Minute)
	want.Roles[incident.RoleL1] = "carol"
	want.Revision = 2
	sameJSON(t, "UpdateIncident result", got, want)
	sameJSON(t, "GetIncident after update", get(t, s, "inc1"), want)

	// The store hands out copies: changing one changes nothing stored.
	got.Title = "changed by the caller"
	if stored := get(t, s, "inc1"); stored.Title != want.Title {
		t.Errorf("stored title = %q after changing a returned copy", stored.Title)
	}

	if rev := update(t, s, "inc1", func(*incident.Incident) error { return nil }).Revision; rev != 3 {
		t.Errorf("Revision after a second update = %d, want 3", rev)
	}

	_, err := s.GetIncident(ctx, "nope")
	wantKind(t, "GetIncident(unknown)", err, incident.ErrNotFound)
	called := false
	_, err = s.UpdateIncident(ctx, "nope", func(*incident.Incident) error { called = true; return nil })
	wantKind(t, "UpdateIncident(unknown)", err, incident.ErrNotFound)
	if called {
		t.Error("UpdateIncident called mutate for an unknown incident")
	}
}

func testCreateRejectsEmptyID(t *testing.T, s incident.Store) {
	err := s.CreateIncident(t.Context(), newIncident("", "ch1", t0))
	wantKind(t, "CreateIncident(empty id)", err, incident.ErrInvalid)
	_, err = s.IncidentIDForChannel(t.Context(), "ch1")
	wantKind(t, "IncidentIDForChannel after a rejected create", err, incident.ErrNotFound)
}

func testUpdateMutateError(t *testing.T, s incident.Store) {
	ctx := t.Context()
	before := create(t, s, "inc1", "ch1", t0)
	errBoom := errors.New("boom")
	_, err := s.UpdateIncident(ctx, "inc1", func(inc *incident.Incident) error {
		inc.Title = "half-done"
		inc.Status = incident.StatusResolved
		return errBoom
	})
	if err != errBoom { //nolint:errorlint // the contract is "returned as is"
		t.Fatalf("UpdateIncident returned %v, want mutate's error as is", err)
	}
	sameJSON(t, "incident after a failed mutate", get(t, s, "inc1"), before)
	listActive(t, s, "inc1")

	// A domain error keeps its kind and message.
	resolve := func(inc *incident.Incident) error { _, err := inc.Resolve(t0, "bob", ""); return err }
	update(t, s, "inc1", resolve)
	_, err = s.UpdateIncident(ctx, "inc1", resolve)
	wantKind(t, "resolving twice", err, incident.ErrConflict)
	if rev := get(t, s, "inc1").Revision; rev != 2 {
		t.Errorf("Revision after a refused update = %d, want 2", rev)
	}
}

func testUpdateKeepsIdentity(t *testing.T, s incident.Store) {
	ctx := t.Context()
	before := create(t, s, "inc1", "ch1", t0)
	for name, mutate := range map[string]func(*incident.Incident){
		"id":         func(inc *incident.Incident) { inc.ID = "inc2" },
		"channel":    func(inc *incident.Incident) { inc.ChannelID = "ch2" },
		"created at": func(inc *incident.Incident) { inc.CreatedAt = inc.CreatedAt.AddDate(0, -2, 0) },
	} {
		_, err := s.UpdateIncident(ctx, "inc1", func(inc *incident.Incident) error { mutate(inc); return nil })
		if err == nil {
			t.Errorf("UpdateIncident changing the %s succeeded", name)
		}
	}
	sameJSON(t, "incident after refused identity changes", get(t, s, "inc1"), before)
}

func testConflictDuplicateID(t *testing.T, s incident.Store) {
	ctx := t.Context()
	first := create(t, s, "inc1", "ch1", t0)
	err := s.CreateIncident(ctx, newIncident("inc1", "ch2", t0.Add(time.Hour)))
	wantKind(t, "CreateIncident(taken id)", err, incident.ErrConflict)

	sameJSON(t, "the first incident", get(t, s, "inc1"), first)
	_, err = s.IncidentIDForChannel(ctx, "ch2")
	wantKind(t, "IncidentIDForChannel(channel of the refused incident)", err, incident.ErrNotFound)
	listActive(t, s, "inc1")
	listSince(t, s, time.Time{}, "inc1")
	create(t, s, "inc2", "ch2", t0.Add(time.Hour)) // the channel was left free
}

func testConflictDuplicateChannel(t *testing.T, s incident.Store) {
	ctx := t.Context()
	first := create(t, s, "inc1", "ch1", t0)
	err := s.CreateIncident(ctx, newIncident("inc2", "ch1", t0.Add(time.Hour)))
	wantKind(t, "CreateIncident(taken channel)", err, incident.ErrConflict)

	_, err = s.GetIncident(ctx, "inc2")
	wantKind(t, "GetIncident(refused incident)", err, incident.ErrNotFound)
	_, err = s.Timeline(ctx, "inc2")
	wantKind(t, "Timeline(refused incident)", err, incident.ErrNotFound)
	if id, err := s.IncidentIDForChannel(ctx, "ch1"); err != nil || id != "inc1" {
		t.Fatalf("IncidentIDForChannel(ch1) = %q, %v; want inc1", id, err)
	}
	sameJSON(t, "the first incident", get(t, s, "inc1"), first)
	listActive(t, s, "inc1")
	listSince(t, s, time.Time{}, "inc1")
	create(t, s, "inc2", "ch2", t0.Add(time.Hour)) // the id was left free
}

func testDelete(t *testing.T, s incident.Store) {
	ctx := t.Context()
	create(t, s, "inc1", "ch1", t0)
	create(t, s, "keep", "ch2", t0.Add(time.Hour))
	for i := range 70 { // several chunks for a chunked store
		appendEvent(t, s, "inc1", note(i, "doomed"))
	}
	appendEvent(t, s, "keep", note(0, "kept"))

	if err := s.DeleteIncident(ctx, "inc1"); err != nil {
		t.Fatalf("DeleteIncident: %v", err)
	}
	_, err := s.GetIncident(ctx, "inc1")
	wantKind(t, "GetIncident after delete", err, incident.ErrNotFound)
	_, err = s.IncidentIDForChannel(ctx, "ch1")
	wantKind(t, "IncidentIDForChannel after delete", err, incident.ErrNotFound)
	_, err = s.Timeline(ctx, "inc1")
	wantKind(t, "Timeline after delete", err, incident.ErrNotFound)
	_, err = s.AppendEvent(ctx, "inc1", note(0, "late"))
	wantKind(t, "AppendEvent after delete", err, incident.ErrNotFound)
	listActive(t, s, "keep")
	listSince(t, s, time.Time{}, "keep")
	wantKind(t, "DeleteIncident twice", s.DeleteIncident(ctx, "inc1"), incident.ErrNotFound)

	// Nothing is left behind: the same id and channel start from scratch.
	again := create(t, s, "inc1", "ch1", t0.Add(2*time.Hour))
	if got := get(t, s, "inc1"); got.Revision != 1 || !got.CreatedAt.Equal(again.CreatedAt) {
		t.Errorf("re-created incident: revision %d created %v", got.Revision, got.CreatedAt)
	}
	if n := len(timeline(t, s, "inc1")); n != 0 {
		t.Errorf("re-created incident has %d events from its predecessor", n)
	}
	if e := appendEvent(t, s, "inc1", note(0, "fresh")); e.Seq != 0 {
		t.Errorf("first event of the re-created incident has Seq %d", e.Seq)
	}
	if got := timeline(t, s, "keep"); len(got) != 1 || got[0].Text != "kept" {
		t.Errorf("the other incident's timeline = %+v", got)
	}
}

func testIncidentIDForChannel(t *testing.T, s incident.Store) {
	ctx := t.Context()
	create(t, s, "inc1", "ch1", t0)
	create(t, s, "inc2", "ch2", t0)
	for ch, want := range map[string]string{"ch1": "inc1", "ch2": "inc2"} {
		if id, err := s.IncidentIDForChannel(ctx, ch); err != nil || id != want {
			t.Errorf("IncidentIDForChannel(%s) = %q, %v; want %s", ch, id, err, want)
		}
	}
	_, err := s.IncidentIDForChannel(ctx, "town-square")
	wantKind(t, "IncidentIDForChannel(unknown)", err, incident.ErrNotFound)
}

// InsertIncident then IndexIncident makes the incident what CreateIncident
// makes: found by id and by channel, listed as active and by creation
// time, once, however often it is indexed; a resolved incident is not
// listed as active by a late index.
func testInsertThenIndex(t *testing.T, s incident.Store) {
	ctx := t.Context()
	inc := newIncident("inc1", "ch1", t0)
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if inc.Revision != 1 {
		t.Errorf("revision %d after insert", inc.Revision)
	}
	if id, err := s.IncidentIDForChannel(ctx, "ch1"); err != nil || id != "inc1" {
		t.Errorf("channel after insert: %q %v", id, err)
	}
	if err := s.InsertIncident(ctx, newIncident("inc1", "ch2", t0)); !errors.Is(err, incident.ErrConflict) {
		t.Errorf("second insert of the id: %v", err)
	}
	for range 2 {
		if err := s.IndexIncident(ctx, "inc1"); err != nil {
			t.Fatal(err)
		}
	}
	active, n, err := s.ListActive(ctx, 0)
	if err != nil || n != 1 || len(active) != 1 || active[0].ID != "inc1" {
		t.Fatalf("active after indexing twice: %d %v %v", n, active, err)
	}
	since, err := s.ListSince(ctx, t0.Add(-time.Hour))
	if err != nil || len(since) != 1 {
		t.Fatalf("listed since: %v %v", since, err)
	}
	update(t, s, "inc1", func(i *incident.Incident) error { i.Status = incident.StatusResolved; return nil })
	if err := s.IndexIncident(ctx, "inc1"); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := s.ListActive(ctx, 0); n != 0 {
		t.Errorf("a resolved incident listed as active after a late index: %d", n)
	}
	if err := s.IndexIncident(ctx, "nope"); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("index of an unknown incident: %v", err)
	}
}
