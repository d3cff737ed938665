package ical_test

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"

	"github.com/incidentbot/mattermost-incident-bot/server/ical"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
)

const domain = "test.example"

// checkWire checks the RFC 5545 content-line rules a parser may forgive:
// CRLF endings, at most 75 octets per line, continuation lines starting
// with one space, valid UTF-8 on every physical line.
func checkWire(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatal("feed does not end with CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if len(l) > 75 {
			t.Errorf("line %d is %d octets: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d splits a UTF-8 sequence: %q", i+1, l)
		}
		if l == "" {
			t.Errorf("line %d is empty", i+1)
		}
	}
	if lines[0] != "BEGIN:VCALENDAR" || lines[len(lines)-1] != "END:VCALENDAR" {
		t.Errorf("not a VCALENDAR: %q ... %q", lines[0], lines[len(lines)-1])
	}
}

// parse checks the wire format and parses the feed with golang-ical.
func parse(t *testing.T, b []byte) *ics.Calendar {
	t.Helper()
	checkWire(t, b)
	cal, err := ics.ParseCalendar(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b)
	}
	props := map[string]string{}
	for _, p := range cal.CalendarProperties {
		props[p.IANAToken] = p.Value
	}
	if props["VERSION"] != "2.0" || props["PRODID"] == "" {
		t.Errorf("calendar properties: %v", props)
	}
	for _, ev := range cal.Events() {
		for _, p := range []ics.ComponentProperty{ics.ComponentPropertyUniqueId, ics.ComponentPropertyDtstamp, ics.ComponentPropertyDtStart, ics.ComponentPropertyDtEnd, ics.ComponentPropertySummary} {
			if ev.GetProperty(p) == nil {
				t.Errorf("event %s lacks %s", ev.Id(), p)
			}
		}
	}
	return cal
}

type parsed struct {
	uid, summary string
	start, end   time.Time
}

func events(t *testing.T, cal *ics.Calendar) []parsed {
	t.Helper()
	var out []parsed
	for _, ev := range cal.Events() {
		s, err := ev.GetStartAt()
		if err != nil {
			t.Fatal(err)
		}
		e, err := ev.GetEndAt()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(ev.GetProperty(ics.ComponentPropertyDtStart).Value, "Z") {
			t.Errorf("DTSTART not in UTC: %s", ev.GetProperty(ics.ComponentPropertyDtStart).Value)
		}
		out = append(out, parsed{uid: ev.Id(), summary: ics.FromText(ev.GetProperty(ics.ComponentPropertySummary).Value), start: s.UTC(), end: e.UTC()})
	}
	return out
}

func TestFoldingAndEscaping(t *testing.T) {
	summary := "On duty: Release manager; notes, with a back\\slash\nand a second line — " +
		strings.Repeat("äöü€😀 ", 20) + "end"
	start := time.Date(2026, 3, 23, 8, 0, 0, 0, time.UTC)
	b := ical.Marshal(ical.Calendar{ProdID: "-//test//x//EN", Name: "Name, with; specials", Events: []ical.Event{{
		UID: ical.UID(domain, "a"), Summary: summary, Description: strings.Repeat("x", 200),
		Categories: []string{"On duty", "A, B"}, Start: start, End: start.Add(time.Hour),
	}}}, start)
	for _, want := range []string{`\;`, `\,`, `back\\slash`, `\n`} {
		if !bytes.Contains(bytes.ReplaceAll(b, []byte("\r\n "), nil), []byte(want)) {
			t.Errorf("escaped form %q missing", want)
		}
	}
	evs := events(t, parse(t, b))
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	if evs[0].summary != summary {
		t.Errorf("summary round trip:\n got %q\nwant %q", evs[0].summary, summary)
	}
	if !evs[0].start.Equal(start) || !evs[0].end.Equal(start.Add(time.Hour)) {
		t.Errorf("times %v %v", evs[0].start, evs[0].end)
	}
}

func TestTextEscaping(t *testing.T) {
	for in, want := range map[string]string{
		`a,b;c\d`:    `a\,b\;c\\d`,
		"line\r\nx":  `line\nx`,
		"bell\x07ok": "bellok",
		"plain":      "plain",
	} {
		if got := ical.Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

// berlinRota is a two-member release-manager rota handing off Mondays 09:00
// Berlin time, anchored at the week of at.
func berlinRota(t *testing.T, at time.Time) (*rota.Rota, rota.Schedule) {
	t.Helper()
	spec, err := schedule.Parse("CRON_TZ=Europe/Berlin 0 9 * * MON")
	if err != nil {
		t.Fatal(err)
	}
	r := &rota.Rota{}
	if _, err := r.SetHandoff(spec.Text, nil, spec, at); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetMembers(incident.RoleRM, []string{"alice", "bob"}, spec, at); err != nil {
		t.Fatal(err)
	}
	return r, spec
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDaylightSaving: weeks across the Berlin changes (29 March and 25
// October 2026) start at 09:00 local time, i.e. 08:00Z in winter and 07:00Z
// in summer, and each feed event matches the rota.
func TestDaylightSaving(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		weeks          []string // week starts in UTC, then the end of the last
	}{
		{"spring", "2026-03-20T12:00:00Z", "2026-04-01T00:00:00Z",
			[]string{"2026-03-16T08:00:00Z", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"}},
		{"autumn", "2026-10-14T12:00:00Z", "2026-10-27T00:00:00Z",
			[]string{"2026-10-12T07:00:00Z", "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z", "2026-11-02T08:00:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to := utc(tc.from), utc(tc.to)
			r, s := berlinRota(t, from)
			segs := ical.Segments(r, s, from, to)
			if len(segs) != len(tc.weeks)-1 {
				t.Fatalf("%d segments, want %d: %+v", len(segs), len(tc.weeks)-1, segs)
			}
			feed := map[string][]ical.Event{
				"alice": ical.PersonalEvents(r, segs, "alice", domain, from, to),
				"bob":   ical.PersonalEvents(r, segs, "bob", domain, from, to),
			}
			got := map[time.Time]string{} // week start -> holder, from the parsed feeds
			for user, evs := range feed {
				for _, ev := range events(t, parse(t, ical.Marshal(ical.Calendar{ProdID: "-//t//t//EN", Events: evs}, from))) {
					if ev.summary != "On duty: "+incident.RoleRM.Title() {
						t.Errorf("summary %q", ev.summary)
					}
					got[ev.start] = user
					i := indexOf(tc.weeks, ev.start)
					if i < 0 || !ev.end.Equal(utc(tc.weeks[i+1])) {
						t.Errorf("%s: event %v-%v is not a rota week %v", user, ev.start, ev.end, tc.weeks)
					}
				}
			}
			for _, w := range tc.weeks[:len(tc.weeks)-1] {
				d := r.OnDuty(s, utc(w))[incident.RoleRM]
				if got[utc(w)] != d.UserID {
					t.Errorf("week %s: feed says %q, rota says %q", w, got[utc(w)], d.UserID)
				}
			}
		})
	}
}

func indexOf(weeks []string, t time.Time) int {
	for i, w := range weeks[:len(weeks)-1] {
		if utc(w).Equal(t) {
			return i
		}
	}
	return -1
}

// TestOverridesAwayAndUIDs: an override splits a week, an away period is
// its own event and makes the other member cover, and UIDs are the same on
// every generation and unique within a feed.
func TestOverridesAwayAndUIDs(t *testing.T) {
	from, to := utc("2026-06-03T12:00:00Z"), utc("2026-06-20T00:00:00Z")
	r, s := berlinRota(t, from)
	week := r.OnDuty(s, utc("2026-06-08T07:00:00Z"))[incident.RoleRM].UserID // holder of the week from 8 June
	other := map[string]string{"alice": "bob", "bob": "alice"}[week]
	if _, err := r.AddOverride(rota.Override{Role: incident.RoleRM, UserID: "carol", From: utc("2026-06-10T10:00:00Z"), To: utc("2026-06-11T10:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddAway(rota.Away{UserID: week, From: utc("2026-06-12T00:00:00Z"), To: utc("2026-06-13T00:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	gen := func(user string, now time.Time) []parsed {
		segs := ical.Segments(r, s, from, to)
		evs := ical.TeamEvents(r, segs, domain, from, to)
		if user != "" {
			evs = ical.PersonalEvents(r, segs, user, domain, from, to)
		}
		return events(t, parse(t, ical.Marshal(ical.Calendar{ProdID: "-//t//t//EN", Events: evs}, now)))
	}
	carol := gen("carol", from)
	if len(carol) != 1 || carol[0].summary != "On duty: Release manager (override)" ||
		!carol[0].start.Equal(utc("2026-06-10T10:00:00Z")) || !carol[0].end.Equal(utc("2026-06-11T10:00:00Z")) {
		t.Errorf("carol's feed: %+v", carol)
	}
	var away, covering int
	for _, ev := range gen(week, from) {
		if ev.summary == "Away" {
			away++
			if !ev.start.Equal(utc("2026-06-12T00:00:00Z")) {
				t.Errorf("away event %+v", ev)
			}
		}
		if ev.start.Before(utc("2026-06-15T07:00:00Z")) && ev.end.After(utc("2026-06-10T10:00:00Z")) && ev.summary != "Away" &&
			!(ev.end.Equal(utc("2026-06-10T10:00:00Z")) || ev.start.Equal(utc("2026-06-11T10:00:00Z")) || ev.start.Equal(utc("2026-06-13T00:00:00Z"))) {
			t.Errorf("%s's duty not split by the override and the away period: %+v", week, ev)
		}
	}
	for _, ev := range gen(other, from) {
		if strings.Contains(ev.summary, "covering") && ev.start.Equal(utc("2026-06-12T00:00:00Z")) && ev.end.Equal(utc("2026-06-13T00:00:00Z")) {
			covering++
		}
	}
	if away != 1 || covering != 1 {
		t.Errorf("away events %d, covering events %d; want 1 and 1", away, covering)
	}
	for _, user := range []string{"", "alice", "bob", "carol"} {
		a, b := gen(user, from), gen(user, from.Add(3*time.Hour))
		if len(a) != len(b) {
			t.Fatalf("feed of %q changed between fetches", user)
		}
		seen := map[string]bool{}
		for i := range a {
			if a[i].uid != b[i].uid {
				t.Errorf("feed of %q: UID changed between fetches: %s, %s", user, a[i].uid, b[i].uid)
			}
			if seen[a[i].uid] {
				t.Errorf("feed of %q: duplicate UID %s", user, a[i].uid)
			}
			seen[a[i].uid] = true
			if !strings.HasSuffix(a[i].uid, "@"+domain) {
				t.Errorf("UID %s", a[i].uid)
			}
		}
	}
}

// TestWindowBounded: a rota without weeks gives no duty, and a huge window
// walks a bounded number of weeks.
func TestWindowBounded(t *testing.T) {
	from := utc("2026-01-01T00:00:00Z")
	if segs := ical.Segments(&rota.Rota{}, nil, from, from.AddDate(1, 0, 0)); len(segs) != 0 {
		t.Errorf("empty rota: %v", segs)
	}
	r, s := berlinRota(t, from)
	if segs := ical.Segments(r, s, from, from.AddDate(50, 0, 0)); len(segs) > 61 {
		t.Errorf("%d segments for 50 years", len(segs))
	}
}
