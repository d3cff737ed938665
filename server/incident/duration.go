package incident

import (
	"strconv"
	"strings"
	"time"
)

// Every duration people read (chat replies, broadcasts, buttons, reminders,
// the timeline, the postmortem) follows the one rule in this file, so that
// two places never disagree about the same stretch of time:
//
//   - instants are shown to the second, truncated ("09:00:04.900" shows as
//     "09:00:04"), so the time between two instants is the difference of
//     their shown stamps: Elapsed;
//   - a duration is written by FormatDuration, to the second, from its
//     largest unit down to its smallest non-zero one: "45s", "15m",
//     "1h 30m", "2h 0m 5s", "2d".

// AsShown returns t as people see it: truncated to the second, the
// precision of every stamp the bot shows.
func AsShown(t time.Time) time.Time { return t.Truncate(time.Second) }

// Elapsed returns the time from one instant to another as it reads off
// their shown stamps (see AsShown): page at 09:00:00.2 and acknowledgement
// at 09:00:04.7 are 4s apart, as their stamps say, not 5s. It is negative
// when to is before from.
func Elapsed(from, to time.Time) time.Duration { return AsShown(to).Sub(AsShown(from)) }

// FormatDuration writes d for people, to the second (a fraction of a second
// is dropped), from its largest unit down to its smallest non-zero one:
// "0s", "45s", "15m", "1h", "1h 30m", "2h 0m 5s", "1d 3h", "2d"; "-" first
// when d is negative.
func FormatDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d == 0 {
		return "0s"
	}
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	parts := [...]struct {
		n    time.Duration
		unit string
	}{{d / (24 * time.Hour), "d"}, {d / time.Hour % 24, "h"}, {d / time.Minute % 60, "m"}, {d / time.Second % 60, "s"}}
	first, last := -1, -1
	for i, p := range parts {
		if p.n != 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	out := make([]string, 0, last-first+1)
	for _, p := range parts[first : last+1] {
		out = append(out, strconv.FormatInt(int64(p.n), 10)+p.unit)
	}
	return sign + strings.Join(out, " ")
}
