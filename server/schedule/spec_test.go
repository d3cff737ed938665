package schedule

import (
	"errors"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestParseHandoffSpecAcrossDST(t *testing.T) {
	s, err := Parse("CRON_TZ=Europe/Berlin 0 9 * * MON")
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// Spring forward on Sunday 2026-03-29: Monday 09:00 is 07:00 UTC after, 08:00 UTC before.
	cases := []struct{ from, want time.Time }{
		{time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 23, 8, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 23, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC)},
		{time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		got := s.Next(c.from)
		if !got.Equal(c.want) || got.In(berlin).Hour() != 9 {
			t.Errorf("Next(%v) = %v, want %v (09:00 Berlin)", c.from, got.UTC(), c.want)
		}
	}
}

func TestParseDefaultsToUTCAndSeconds(t *testing.T) {
	s, err := Parse("30 15 10 * * *") // seconds field: 10:15:30 daily
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 1, 1, 10, 15, 30, 0, time.UTC)) {
		t.Errorf("Next = %v", got)
	}
}

func TestParseRejectsBadSpecs(t *testing.T) {
	for _, bad := range []string{"", "every monday", "CRON_TZ=Mars/Base 0 9 * * MON", "0 9 31 2 *", "61 * * * *"} {
		if _, err := Parse(bad); !errors.Is(err, incident.ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want an invalid error", bad, err)
		}
	}
}
