package rota

import (
	"testing"
	"time"
)

// weekly is a stdlib Schedule for tests: a handoff every week on day at
// hour:min local time in loc, standing in for robfig/cron's
// "CRON_TZ=<loc> <min> <hour> * * <day>" without importing it.
//
// Local times that a daylight-saving change repeats fire at both instants,
// as robfig/cron v3.0.1 does. Local times that a change skips do not fire
// that week, as robfig/cron does, unless shiftGap is set: then they fire at
// the instant the clocks jump (the next valid instant), which is how some
// other crons behave. TestWeeklyMatchesRobfig pins both to instants checked
// against robfig/cron v3.0.1; outside this module the two also agreed on 200
// weeks of every weekday at eight times of day in Berlin, New York, São
// Paulo and Kolkata. (They differ in Lord Howe, whose half-hour change
// robfig mishandles: it skips a whole week, which CheckSchedule catches.)
type weekly struct {
	day       time.Weekday
	hour, min int
	loc       *time.Location
	shiftGap  bool
}

func (w weekly) Next(t time.Time) time.Time {
	lt := t.In(w.loc)
	y, m, d := lt.Date()
	// The matching day of the week before t's, then the next three: enough
	// when one handoff is skipped.
	first := d + (int(w.day)-int(lt.Weekday())+7)%7 - 7
	for i := range 4 {
		for _, c := range w.instants(y, m, first+7*i) {
			if c.After(t) {
				return c.In(t.Location())
			}
		}
	}
	return time.Time{}
}

// instants returns the instants whose wall clock in w.loc reads hour:min on
// the given day (d may overflow the month, as for time.Date), earliest
// first: none if a change skips it (one with shiftGap), two if a change
// repeats it. It assumes changes of one hour, as in the zones used here.
func (w weekly) instants(y int, m time.Month, d int) []time.Time {
	u := time.Date(y, m, d, w.hour, w.min, 0, 0, w.loc)
	y, m, d = time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Date() // normalised
	var out []time.Time
	for k := -1; k <= 1; k++ {
		c := u.Add(time.Duration(k) * time.Hour).In(w.loc)
		cy, cm, cd := c.Date()
		if cy == y && cm == m && cd == d && c.Hour() == w.hour && c.Minute() == w.min && c.Second() == 0 {
			out = append(out, c)
		}
	}
	if len(out) == 0 && w.shiftGap {
		// The jump is the start of the zone in effect two hours after the
		// skipped time, whichever way time.Date normalised u.
		start, _ := u.Add(2 * time.Hour).ZoneBounds()
		out = append(out, start)
	}
	return out
}

var (
	berlin  = mustLoadVar("Europe/Berlin")
	newYork = mustLoadVar("America/New_York")
)

func mustLoadVar(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// TestWeeklyMatchesRobfig pins the test schedule to the handoffs robfig/cron
// v3.0.1 computes for the same specs (checked outside this module).
func TestWeeklyMatchesRobfig(t *testing.T) {
	cases := []struct {
		name string
		s    weekly
		from time.Time
		want []time.Time
	}{
		{"CRON_TZ=Europe/Berlin 0 9 * * MON, spring", weekly{time.Monday, 9, 0, berlin, false}, utc(2026, 3, 1, 0, 0),
			[]time.Time{utc(2026, 3, 2, 8, 0), utc(2026, 3, 9, 8, 0), utc(2026, 3, 16, 8, 0), utc(2026, 3, 23, 8, 0), utc(2026, 3, 30, 7, 0), utc(2026, 4, 6, 7, 0)}},
		{"CRON_TZ=Europe/Berlin 0 9 * * MON, autumn", weekly{time.Monday, 9, 0, berlin, false}, utc(2026, 10, 18, 0, 0),
			[]time.Time{utc(2026, 10, 19, 7, 0), utc(2026, 10, 26, 8, 0), utc(2026, 11, 2, 8, 0)}},
		{"CRON_TZ=Europe/Berlin 30 2 * * SUN skips spring", weekly{time.Sunday, 2, 30, berlin, false}, utc(2026, 3, 1, 0, 0),
			[]time.Time{utc(2026, 3, 1, 1, 30), utc(2026, 3, 8, 1, 30), utc(2026, 3, 15, 1, 30), utc(2026, 3, 22, 1, 30), utc(2026, 4, 5, 0, 30), utc(2026, 4, 12, 0, 30)}},
		{"CRON_TZ=Europe/Berlin 30 2 * * SUN fires twice in autumn", weekly{time.Sunday, 2, 30, berlin, false}, utc(2026, 10, 18, 0, 0),
			[]time.Time{utc(2026, 10, 18, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30), utc(2026, 11, 1, 1, 30)}},
		{"CRON_TZ=America/New_York 30 2 * * SUN skips spring", weekly{time.Sunday, 2, 30, newYork, false}, utc(2026, 3, 1, 0, 0),
			[]time.Time{utc(2026, 3, 1, 7, 30), utc(2026, 3, 15, 6, 30), utc(2026, 3, 22, 6, 30)}},
		{"CRON_TZ=America/New_York 30 2 * * SUN autumn", weekly{time.Sunday, 2, 30, newYork, false}, utc(2026, 10, 18, 0, 0),
			[]time.Time{utc(2026, 10, 18, 6, 30), utc(2026, 10, 25, 6, 30), utc(2026, 11, 1, 7, 30), utc(2026, 11, 8, 7, 30)}},
		// Not robfig: the shiftGap variant fires at 03:00 EDT, when the clocks land.
		{"New York 02:30 SUN, shiftGap", weekly{time.Sunday, 2, 30, newYork, true}, utc(2026, 3, 1, 0, 0),
			[]time.Time{utc(2026, 3, 1, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 15, 6, 30)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at := c.from
			for i, want := range c.want {
				got := c.s.Next(at)
				if !got.Equal(want) {
					t.Fatalf("handoff %d after %v = %v, want %v", i, at, got.UTC(), want)
				}
				at = got
			}
		})
	}
}
