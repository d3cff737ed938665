package incident

import (
	"strings"
	"testing"
	"time"
)

func TestFormatDurationReadsAsPeopleWriteIt(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                     "0s",
		400 * time.Millisecond:                "0s",
		45 * time.Second:                      "45s",
		45*time.Second + 900*time.Millisecond: "45s",
		15 * time.Minute:                      "15m",
		30 * time.Minute:                      "30m",
		time.Hour:                             "1h",
		90 * time.Minute:                      "1h 30m",
		2*time.Hour + 5*time.Second:           "2h 0m 5s",
		48 * time.Hour:                        "2d",
		27 * time.Hour:                        "1d 3h",
		-65 * time.Second:                     "-1m 5s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestElapsedIsTheDifferenceOfTheShownStamps: a page at 09:00:00.2 and its
// acknowledgement at 09:00:04.7 show as 09:00:00 and 09:00:04, so 4s
// passed between them, not the 5s that rounding 4.5s would say.
func TestElapsedIsTheDifferenceOfTheShownStamps(t *testing.T) {
	paged := time.Date(2026, 3, 12, 9, 0, 0, 200e6, time.UTC)
	acked := time.Date(2026, 3, 12, 9, 0, 4, 700e6, time.UTC)
	if got := Elapsed(paged, acked); got != 4*time.Second {
		t.Errorf("Elapsed = %v, want 4s", got)
	}
	stampDiff := AsShown(acked).Sub(AsShown(paged))
	if stampDiff != 4*time.Second || AsShown(acked).Format("15:04:05") != "09:00:04" {
		t.Errorf("shown stamps %s, %s", AsShown(paged).Format("15:04:05.000"), AsShown(acked).Format("15:04:05.000"))
	}
	// A freeze from 09:30:00.9 to 09:30:34.1 lasted 34s by its stamps.
	if got := FormatDuration(Elapsed(time.Date(2026, 1, 1, 9, 30, 0, 900e6, time.UTC), time.Date(2026, 1, 1, 9, 30, 34, 100e6, time.UTC))); got != "34s" {
		t.Errorf("freeze lasted %q, want 34s", got)
	}
}

func TestRemindersShowDurationsOneWay(t *testing.T) {
	start := time.Date(2026, 3, 12, 9, 0, 0, 300e6, time.UTC)
	inc := &Incident{ID: "abc", Status: StatusOpen, CreatedAt: start}
	ev, ok := inc.RemindUpdate(start.Add(15*time.Minute+65*time.Second+500*time.Millisecond), 15*time.Minute)
	if !ok || ev.Text != "status update overdue by 1m 5s" || ev.Data[DataOverdue] != "1m5s" {
		t.Errorf("reminder %q (overdue %q), want overdue by 1m 5s", ev.Text, ev.Data[DataOverdue])
	}
	ev, err := inc.SnoozeReminders(start, "ian", 90*time.Minute)
	if err != nil || !strings.HasSuffix(ev.Text, "snoozed for 1h 30m") {
		t.Errorf("snooze %q, %v", ev.Text, err)
	}
}
