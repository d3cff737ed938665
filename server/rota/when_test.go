package rota

import (
	"strings"
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	cases := []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"2026-11-23", berlin, utc(2026, 11, 22, 23, 0)},
		{"  2026-11-23  ", berlin, utc(2026, 11, 22, 23, 0)},
		{"2026-07-01", berlin, utc(2026, 6, 30, 22, 0)},
		{"2026-11-23", nil, utc(2026, 11, 23, 0, 0)},
		{"2026-11-23 14:30", berlin, utc(2026, 11, 23, 13, 30)},
		{"2026-11-23   14:30", newYork, utc(2026, 11, 23, 19, 30)},
		{"2026-11-23T14:30:00Z", berlin, utc(2026, 11, 23, 14, 30)},
		{"2026-11-23T14:30:00+05:30", berlin, utc(2026, 11, 23, 9, 0)},
		// A skipped local time moves forward by the gap; a repeated one is the first.
		{"2026-03-29 02:30", berlin, utc(2026, 3, 29, 1, 30)},  // 03:30 CEST
		{"2026-10-25 02:30", berlin, utc(2026, 10, 25, 0, 30)}, // 02:30 CEST, not CET
		{"2026-03-08 02:30", newYork, utc(2026, 3, 8, 7, 30)},  // 03:30 EDT
		{"2026-11-01 01:30", newYork, utc(2026, 11, 1, 5, 30)}, // 01:30 EDT, not EST
		{"2026-11-01", mustLoadVar("America/Sao_Paulo"), utc(2026, 11, 1, 3, 0)},
	}
	for _, c := range cases {
		got, err := ParseWhen(c.in, c.loc)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseWhen(%q, %v) = %v, %v; want %v", c.in, c.loc, got.UTC(), err, c.want)
		}
		if err == nil && c.loc != nil && !strings.Contains(c.in, "T") && got.Location() != c.loc {
			t.Errorf("ParseWhen(%q) location %v, want %v", c.in, got.Location(), c.loc)
		}
	}
	for _, bad := range []string{"", "tomorrow", "23.11.2026", "2026-11-23 2pm", "2026-13-01", "2026-11-23 25:00", "2026-11-23T14:30"} {
		_, err := ParseWhen(bad, berlin)
		if !isInvalid(err) || !strings.Contains(err.Error(), "use 2026-11-23 (midnight), 2026-11-23 14:30 (Europe/Berlin time) or RFC 3339") {
			t.Errorf("ParseWhen(%q) = %v, want an invalid error naming the formats", bad, err)
		}
	}
}
