package incident

import (
	"testing"
	"time"
)

func TestUpdateRemindersFollowTheCadence(t *testing.T) {
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	inc := &Incident{ID: "abc234", Severity: S1}
	inc.Start(start, "u")
	cad := 30 * time.Minute
	if _, ok := inc.RemindUpdate(start.Add(29*time.Minute), cad); ok {
		t.Fatal("reminded before the update was due")
	}
	ev, ok := inc.RemindUpdate(start.Add(31*time.Minute), cad)
	if !ok || ev.Data[DataOverdue] != "1m0s" {
		t.Fatalf("no reminder when overdue: %v %+v", ok, ev)
	}
	if _, ok := inc.RemindUpdate(start.Add(40*time.Minute), cad); ok {
		t.Fatal("reminded twice within one cadence")
	}
	if _, ok := inc.RemindUpdate(start.Add(62*time.Minute), cad); !ok {
		t.Fatal("no repeat reminder after a cadence while still overdue")
	}
	// An update resets the clock; a snooze pushes the next one out.
	if _, err := inc.PostUpdate(start.Add(63*time.Minute), "u", "x"); err != nil {
		t.Fatal(err)
	}
	if _, ok := inc.RemindUpdate(start.Add(80*time.Minute), cad); ok {
		t.Fatal("reminded right after an update")
	}
	if _, err := inc.SnoozeReminders(start.Add(94*time.Minute), "u", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, ok := inc.RemindUpdate(start.Add(100*time.Minute), cad); ok {
		t.Fatal("reminded while snoozed")
	}
	if _, ok := inc.RemindUpdate(start.Add(155*time.Minute), cad); !ok {
		t.Fatal("no reminder after the snooze ended")
	}
	if _, ok := inc.RemindUpdate(start.Add(200*time.Minute), 0); ok {
		t.Fatal("reminded with cadence off")
	}
	inc.Resolve(start.Add(210*time.Minute), "u", "")
	if _, ok := inc.RemindUpdate(start.Add(300*time.Minute), cad); ok {
		t.Fatal("reminded on a resolved incident")
	}
}
