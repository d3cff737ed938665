package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func testListActive(t *testing.T, s incident.Store) {
	listActive(t, s) // empty store
	create(t, s, "c1", "ch1", t0)
	create(t, s, "c3", "ch3", t0.Add(2*time.Hour))
	create(t, s, "c2", "ch2", t0.Add(time.Hour))
	listActive(t, s, "c3", "c2", "c1")

	at := t0.Add(3 * time.Hour)
	update(t, s, "c2", func(inc *incident.Incident) error { _, err := inc.Mitigate(at, "bob"); return err })
	listActive(t, s, "c3", "c2", "c1")
	update(t, s, "c3", func(inc *incident.Incident) error { _, err := inc.Resolve(at, "bob", "fixed"); return err })
	listActive(t, s, "c2", "c1")
	update(t, s, "c2", func(inc *incident.Incident) error { _, err := inc.Resolve(at, "bob", "fixed"); return err })
	listActive(t, s, "c1")
	update(t, s, "c3", func(inc *incident.Incident) error { _, err := inc.Reopen(at, "bob", "back"); return err })
	listActive(t, s, "c3", "c1")
	// An update that keeps the status keeps the membership.
	update(t, s, "c3", func(inc *incident.Incident) error { inc.Summary = "more"; return nil })
	listActive(t, s, "c3", "c1")
	// A limit reads the newest only, and still counts them all.
	create(t, s, "c4", "ch4", t0.Add(4*time.Hour))
	newest, total, err := s.ListActive(t.Context(), 2)
	wantIDs(t, "ListActive(2)", newest, err, "c4", "c3")
	if total != 3 {
		t.Errorf("ListActive(2) counts %d active, want 3", total)
	}
}

func testListSince(t *testing.T, s incident.Store) {
	newYear := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	create(t, s, "a", "ch-a", newYear.Add(-time.Millisecond)) // 2025-12-31T23:59:59.999Z
	create(t, s, "b", "ch-b", newYear)
	create(t, s, "c", "ch-c", newYear.AddDate(0, 0, 14))
	create(t, s, "d", "ch-d", time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC))
	create(t, s, "e", "ch-e", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	create(t, s, "f", "ch-f", time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)) // a year on
	update(t, s, "c", func(inc *incident.Incident) error { _, err := inc.Resolve(t0, "bob", ""); return err })

	listSince(t, s, time.Time{}, "f", "e", "d", "c", "b", "a")
	listSince(t, s, newYear.Add(-time.Millisecond), "f", "e", "d", "c", "b", "a") // at since is included
	listSince(t, s, newYear, "f", "e", "d", "c", "b")
	listSince(t, s, newYear.Add(time.Nanosecond), "f", "e", "d", "c")
	listSince(t, s, time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC), "f", "e", "d")
	listSince(t, s, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), "f")
	listSince(t, s, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))

	// since in another zone names the same instant; its local month is not
	// the UTC one on either side of New Year.
	berlin := time.FixedZone("CET", 3600)
	listSince(t, s, time.Date(2026, 1, 1, 1, 0, 0, 0, berlin), "f", "e", "d", "c", "b")
	newYork := time.FixedZone("EST", -5*3600)
	listSince(t, s, time.Date(2025, 12, 31, 19, 0, 0, 0, newYork), "f", "e", "d", "c", "b")
	listSince(t, s, time.Date(2025, 12, 31, 18, 59, 59, 999_000_000, newYork), "f", "e", "d", "c", "b", "a")
}

// testListIDs walks a listing of three months, one of them longer than a
// chunk of the kvstore's month log, in pages of several sizes: every id
// once, newest month first, the newest of a month first.
func testListIDs(t *testing.T, s incident.Store) {
	ctx := t.Context()
	if got, err := s.ListIDs(ctx, "", 10); err != nil || len(got) != 0 {
		t.Fatalf("ListIDs on an empty store = %v, %v", got, err)
	}
	feb, mar, may := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)
	var want []string // newest first
	add := func(id string, at time.Time) {
		create(t, s, id, "ch-"+id, at)
		want = append([]string{id}, want...)
	}
	for i := range 3 {
		add(fmt.Sprintf("f%d", i), feb.Add(time.Duration(i)*time.Hour))
	}
	for i := range 140 {
		add(fmt.Sprintf("m%03d", i), mar.Add(time.Duration(i)*time.Minute))
	}
	for i := range 2 {
		add(fmt.Sprintf("y%d", i), may.Add(time.Duration(i)*time.Hour))
	}
	months, err := s.IncidentMonths(ctx)
	if err != nil || len(months) == 0 || months[0] != "2026-02" || months[len(months)-1] != "2026-05" || !slices.Contains(months, "2026-03") {
		t.Errorf("IncidentMonths = %v, %v; want 2026-02 first, 2026-03 among them, 2026-05 last", months, err)
	}
	for _, n := range []int{1, 7, 50, 200} {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("pages of %d: the listing does not end", n)
			}
			page, err := s.ListIDs(ctx, cursor, n)
			if err != nil {
				t.Fatalf("ListIDs(%q, %d): %v", cursor, n, err)
			}
			for _, l := range page {
				got = append(got, l.ID)
			}
			if len(page) < n {
				break
			}
			cursor = page[len(page)-1].Next
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages of %d list %d ids %v...\nwant %d %v...", n, len(got), head(got), len(want), head(want))
		}
	}
	if _, err := s.ListIDs(ctx, "not a cursor", 5); incident.KindOf(err) != incident.KindInvalid {
		t.Errorf("ListIDs with a forged cursor: %v, want an invalid-input error", err)
	}
}

func head(ids []string) []string { return ids[:min(len(ids), 8)] }

// testGetMany reads several incidents and documents at once: in the
// order asked, nil for what is missing.
func testGetMany(t *testing.T, s incident.Store) {
	ctx := t.Context()
	create(t, s, "g1", "ch-g1", t0)
	create(t, s, "g2", "ch-g2", t0.Add(time.Hour))
	got, err := s.GetIncidents(ctx, []string{"g2", "missing", "g1"})
	if err != nil || len(got) != 3 || got[0] == nil || got[0].ID != "g2" || got[1] != nil || got[2] == nil || got[2].ID != "g1" {
		t.Fatalf("GetIncidents(g2, missing, g1) = %v, %v", got, err)
	}
	if ok, err := s.CompareAndSetDoc(ctx, "many/a", nil, []byte(`{"a":1}`)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	docs, err := s.GetDocs(ctx, []string{"many/b", "many/a"})
	if err != nil || len(docs) != 2 || docs[0] != nil || string(docs[1]) != `{"a":1}` {
		t.Errorf("GetDocs(many/b, many/a) = %q, %v", docs, err)
	}
	if _, err := s.GetDocs(ctx, []string{"Bad Name"}); err == nil {
		t.Error("GetDocs with an invalid name: no error")
	}
}
