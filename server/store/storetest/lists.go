package storetest

import (
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
