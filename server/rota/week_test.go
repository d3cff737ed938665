package rota

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// every hands off at start + k·d for every integer k.
type every struct {
	start time.Time
	d     time.Duration
}

func (e every) Next(t time.Time) time.Time {
	k := t.Sub(e.start) / e.d
	for n := e.start.Add(k * e.d); ; n = n.Add(e.d) {
		if n.After(t) {
			return n
		}
	}
}

// never has no handoffs.
type never struct{}

func (never) Next(time.Time) time.Time { return time.Time{} }

func TestWeekOf(t *testing.T) {
	berlinMon := weekly{time.Monday, 9, 0, berlin, false}
	nyMon := weekly{time.Monday, 9, 0, newYork, false}
	berlinSun0230 := weekly{time.Sunday, 2, 30, berlin, false}
	nySun0230Shift := weekly{time.Sunday, 2, 30, newYork, true}
	ns := time.Nanosecond
	type want struct {
		index      int
		start, end time.Time
	}
	cases := []struct {
		name   string
		s      Schedule
		anchor time.Time
		t      time.Time
		want   want
	}{
		// Berlin, Monday 09:00; week 0 starts Monday 2 March 2026 09:00 CET.
		{"just before the anchor", berlinMon, utc(2026, 3, 2, 8, 0), utc(2026, 3, 2, 8, 0).Add(-ns), want{-1, utc(2026, 2, 23, 8, 0), utc(2026, 3, 2, 8, 0)}},
		{"at the anchor", berlinMon, utc(2026, 3, 2, 8, 0), utc(2026, 3, 2, 8, 0), want{0, utc(2026, 3, 2, 8, 0), utc(2026, 3, 9, 8, 0)}},
		{"just after the anchor", berlinMon, utc(2026, 3, 2, 8, 0), utc(2026, 3, 2, 8, 0).Add(ns), want{0, utc(2026, 3, 2, 8, 0), utc(2026, 3, 9, 8, 0)}},
		{"just before a handoff", berlinMon, utc(2026, 3, 2, 8, 0), utc(2026, 3, 9, 8, 0).Add(-ns), want{0, utc(2026, 3, 2, 8, 0), utc(2026, 3, 9, 8, 0)}},
		{"at a handoff", berlinMon, utc(2026, 3, 2, 8, 0), utc(2026, 3, 9, 8, 0), want{1, utc(2026, 3, 9, 8, 0), utc(2026, 3, 16, 8, 0)}},
		// Spring forward 29 March: the week is 167 h and the handoff stays at 09:00 local (07:00 UTC).
		{"Berlin spring: 08:59 CEST is the old week", berlinMon, utc(2026, 3, 2, 8, 0), utc(2026, 3, 30, 6, 59), want{3, utc(2026, 3, 23, 8, 0), utc(2026, 3, 30, 7, 0)}},
		{"Berlin spring: 09:00 CEST is the new week", berlinMon, utc(2026, 3, 2, 8, 0), utc(2026, 3, 30, 7, 0), want{4, utc(2026, 3, 30, 7, 0), utc(2026, 4, 6, 7, 0)}},
		// Fall back 25 October: the week is 169 h; 07:59 UTC is 08:59 CET.
		{"Berlin autumn: 08:59 CET is the old week", berlinMon, utc(2026, 3, 2, 8, 0), utc(2026, 10, 26, 7, 59), want{33, utc(2026, 10, 19, 7, 0), utc(2026, 10, 26, 8, 0)}},
		{"Berlin autumn: 09:00 CET is the new week", berlinMon, utc(2026, 3, 2, 8, 0), utc(2026, 10, 26, 8, 0), want{34, utc(2026, 10, 26, 8, 0), utc(2026, 11, 2, 8, 0)}},
		{"Berlin: negative weeks across spring", berlinMon, utc(2026, 11, 2, 8, 0), utc(2026, 3, 30, 7, 0), want{-31, utc(2026, 3, 30, 7, 0), utc(2026, 4, 6, 7, 0)}},
		{"Berlin: negative weeks, just before spring handoff", berlinMon, utc(2026, 11, 2, 8, 0), utc(2026, 3, 30, 6, 59), want{-32, utc(2026, 3, 23, 8, 0), utc(2026, 3, 30, 7, 0)}},
		// New York, Monday 09:00; clocks change 8 March and 1 November 2026.
		{"New York spring: 08:59 EDT", nyMon, utc(2026, 3, 2, 14, 0), utc(2026, 3, 9, 12, 59), want{0, utc(2026, 3, 2, 14, 0), utc(2026, 3, 9, 13, 0)}},
		{"New York spring: 09:00 EDT", nyMon, utc(2026, 3, 2, 14, 0), utc(2026, 3, 9, 13, 0), want{1, utc(2026, 3, 9, 13, 0), utc(2026, 3, 16, 13, 0)}},
		{"New York autumn: 08:59 EST", nyMon, utc(2026, 3, 2, 14, 0), utc(2026, 11, 2, 13, 59), want{34, utc(2026, 10, 26, 13, 0), utc(2026, 11, 2, 14, 0)}},
		{"New York autumn: 09:00 EST", nyMon, utc(2026, 3, 2, 14, 0), utc(2026, 11, 2, 14, 0), want{35, utc(2026, 11, 2, 14, 0), utc(2026, 11, 9, 14, 0)}},
		{"New York: negative weeks across autumn", nyMon, utc(2027, 1, 4, 14, 0), utc(2026, 7, 6, 13, 0), want{-26, utc(2026, 7, 6, 13, 0), utc(2026, 7, 13, 13, 0)}},
		{"New York: negative, a year back", nyMon, utc(2027, 1, 4, 14, 0), utc(2026, 1, 5, 14, 0), want{-52, utc(2026, 1, 5, 14, 0), utc(2026, 1, 12, 14, 0)}},
		// 02:30 on a day that skips it, robfig style: no handoff that week.
		{"Berlin 02:30 skipped: the week lasts two", berlinSun0230, utc(2026, 3, 1, 1, 30), utc(2026, 3, 29, 1, 30), want{3, utc(2026, 3, 22, 1, 30), utc(2026, 4, 5, 0, 30)}},
		{"Berlin 02:30 after the skipped week", berlinSun0230, utc(2026, 3, 1, 1, 30), utc(2026, 4, 5, 0, 30), want{4, utc(2026, 4, 5, 0, 30), utc(2026, 4, 12, 0, 30)}},
		{"Berlin 02:30 skipped, counted backwards", berlinSun0230, utc(2026, 4, 12, 0, 30), utc(2026, 3, 29, 1, 30), want{-2, utc(2026, 3, 22, 1, 30), utc(2026, 4, 5, 0, 30)}},
		// 02:30 on a day that repeats it, robfig style: a one-hour week.
		{"Berlin 02:30 repeated: first", berlinSun0230, utc(2026, 10, 18, 0, 30), utc(2026, 10, 25, 1, 0), want{1, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)}},
		{"Berlin 02:30 repeated: second", berlinSun0230, utc(2026, 10, 18, 0, 30), utc(2026, 10, 25, 1, 30), want{2, utc(2026, 10, 25, 1, 30), utc(2026, 11, 1, 1, 30)}},
		// 02:30 skipped, shiftGap: fires at 03:00 EDT when the clocks land.
		{"New York 02:30 shifted: before", nySun0230Shift, utc(2026, 3, 1, 7, 30), utc(2026, 3, 8, 6, 59), want{0, utc(2026, 3, 1, 7, 30), utc(2026, 3, 8, 7, 0)}},
		{"New York 02:30 shifted: at 03:00 EDT", nySun0230Shift, utc(2026, 3, 1, 7, 30), utc(2026, 3, 8, 7, 0), want{1, utc(2026, 3, 8, 7, 0), utc(2026, 3, 15, 6, 30)}},
		// An anchor that is not a handoff still bounds weeks 0 and -1.
		{"mid-week anchor: later", berlinMon, utc(2026, 3, 4, 12, 0), utc(2026, 3, 9, 8, 0), want{1, utc(2026, 3, 9, 8, 0), utc(2026, 3, 16, 8, 0)}},
		{"mid-week anchor: week 0", berlinMon, utc(2026, 3, 4, 12, 0), utc(2026, 3, 5, 0, 0), want{0, utc(2026, 3, 4, 12, 0), utc(2026, 3, 9, 8, 0)}},
		{"mid-week anchor: week -1 ends at it", berlinMon, utc(2026, 3, 4, 12, 0), utc(2026, 3, 3, 0, 0), want{-1, utc(2026, 3, 2, 8, 0), utc(2026, 3, 4, 12, 0)}},
		{"mid-week anchor: week -2", berlinMon, utc(2026, 3, 4, 12, 0), utc(2026, 3, 2, 7, 59), want{-2, utc(2026, 2, 23, 8, 0), utc(2026, 3, 2, 8, 0)}},
		// A schedule without handoffs: one endless week each side.
		{"no handoffs, after", never{}, utc(2026, 3, 2, 8, 0), utc(2030, 1, 1, 0, 0), want{0, utc(2026, 3, 2, 8, 0), time.Time{}}},
		{"no handoffs, before", never{}, utc(2026, 3, 2, 8, 0), utc(2020, 1, 1, 0, 0), want{-1, time.Time{}, utc(2026, 3, 2, 8, 0)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, start, end := WeekOf(c.s, c.anchor, c.t)
			if k != c.want.index || !start.Equal(c.want.start) || !end.Equal(c.want.end) {
				t.Errorf("WeekOf(%v) = %d [%v, %v), want %d [%v, %v)", c.t, k, start.UTC(), end.UTC(), c.want.index, c.want.start, c.want.end)
			}
		})
	}
}

// TestWeekOfConsistent checks WeekOf against the schedule itself at random
// instants over six years around the anchor, across every DST change in
// them: t lies in its week, the week's bounds are consecutive handoffs, and
// the indexes of adjacent weeks differ by one.
func TestWeekOfConsistent(t *testing.T) {
	schedules := map[string]Schedule{
		"Berlin Mon 09:00":           weekly{time.Monday, 9, 0, berlin, false},
		"New York Mon 09:00":         weekly{time.Monday, 9, 0, newYork, false},
		"Berlin Sun 02:30":           weekly{time.Sunday, 2, 30, berlin, false},
		"New York Sun 02:30 shifted": weekly{time.Sunday, 2, 30, newYork, true},
		"every 5 days":               every{utc(2026, 1, 1, 0, 0), 5 * 24 * time.Hour},
	}
	for name, s := range schedules {
		t.Run(name, func(t *testing.T) {
			anchor := s.Next(utc(2026, 6, 1, 0, 0))
			rng := rand.New(rand.NewPCG(1, 2))
			span := int64(3 * 365 * 24 * time.Hour)
			for range 300 {
				at := anchor.Add(time.Duration(rng.Int64N(2*span) - span))
				k, start, end := WeekOf(s, anchor, at)
				if at.Before(start) || !at.Before(end) {
					t.Fatalf("WeekOf(%v) = %d [%v, %v): t outside its week", at, k, start, end)
				}
				if k < 0 && end.After(anchor) || k >= 0 && start.Before(anchor) {
					t.Fatalf("WeekOf(%v) = %d [%v, %v): wrong side of the anchor %v", at, k, start, end, anchor)
				}
				if n := s.Next(start); !n.Equal(end) {
					t.Fatalf("week %d [%v, %v): the next handoff after its start is %v", k, start, end, n)
				}
				if n := s.Next(start.Add(-time.Nanosecond)); !n.Equal(start) {
					t.Fatalf("week %d starts at %v, which is not a handoff (%v is)", k, start, n)
				}
				if k2, s2, _ := WeekOf(s, anchor, start); k2 != k || !s2.Equal(start) {
					t.Fatalf("WeekOf(start of week %d) = %d", k, k2)
				}
				if k2, s2, _ := WeekOf(s, anchor, end); k2 != k+1 || !s2.Equal(end) {
					t.Fatalf("WeekOf(end of week %d) = %d starting %v", k, k2, s2)
				}
				if k2, _, e2 := WeekOf(s, anchor, start.Add(-time.Nanosecond)); k2 != k-1 || !e2.Equal(start) {
					t.Fatalf("WeekOf(just before week %d) = %d ending %v", k, k2, e2)
				}
			}
		})
	}
}

func TestCheckSchedule(t *testing.T) {
	jan := utc(2026, 1, 1, 0, 0)
	cases := []struct {
		name    string
		s       Schedule
		from    time.Time
		wantErr string // empty: valid
	}{
		{"weekly Berlin 09:00", weekly{time.Monday, 9, 0, berlin, false}, jan, ""},
		{"weekly New York 09:00", weekly{time.Monday, 9, 0, newYork, false}, jan, ""},
		{"daily", every{jan, 24 * time.Hour}, jan, ""},
		{"hourly", every{jan, time.Hour}, jan, "only 1h apart"},
		{"monthly", every{jan, 30 * 24 * time.Hour}, jan.Add(time.Hour), "at least once a week"},
		{"never", never{}, jan, "at least once a week"},
		{"02:30 skipped in spring", weekly{time.Sunday, 2, 30, berlin, false}, jan, "skips"},
		{"02:30 repeated in autumn", weekly{time.Sunday, 2, 30, berlin, false}, utc(2026, 4, 1, 0, 0), "repeats fires twice"},
		{"New York 02:30 skipped", weekly{time.Sunday, 2, 30, newYork, false}, jan, "skips"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckSchedule(c.s, c.from)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("CheckSchedule: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("CheckSchedule = %v, want an error containing %q", err, c.wantErr)
			case err != nil && !isInvalid(err):
				t.Errorf("CheckSchedule error kind: %v", err)
			}
		})
	}
}
