package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

type fakeReminders struct {
	mu  sync.Mutex
	got []string // "incident->user"
}

func (f *fakeReminders) RemindUpdate(_ context.Context, inc *incident.Incident, to string, _, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, inc.ID+"->"+to)
	return nil
}

func (f *fakeReminders) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

// withReminders returns a second App on e's store and clock that sends
// reminders to r, with a 30-minute S2 cadence.
func (e *env) withReminders(r Reminders) *App {
	return e.app.derive(func(a *App) {
		a.reminders = r
		base := a.settings
		a.settings = func() Settings {
			s := base()
			s.UpdateCadence = map[incident.Severity]time.Duration{incident.S2: 30 * time.Minute}
			return s
		}
	})
}

func TestOverdueUpdateRemindsTheIMOnceAcrossInstances(t *testing.T) {
	forEachStore(t, testOverdueUpdateRemindsTheIMOnceAcrossInstances)
}

func testOverdueUpdateRemindsTheIMOnceAcrossInstances(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	e.setRota(t, map[incident.Role][]string{incident.RoleIM: {"ian"}})
	inc := e.start(t, "x")
	rem := &fakeReminders{}
	a1, a2 := e.withReminders(rem), e.withReminders(rem)

	e.now = inc.CreatedAt.Add(20 * time.Minute)
	if err := a1.work.Tick(ctx); err != nil || rem.count() != 0 {
		t.Fatalf("reminded before due: %v %v", err, rem.got)
	}
	e.now = inc.CreatedAt.Add(31 * time.Minute)
	_ = e.now
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(a *App) {
			defer wg.Done()
			if err := a.work.Tick(ctx); err != nil {
				t.Error(err)
			}
		}([]*App{a1, a2}[i%2])
	}
	wg.Wait()
	if rem.count() != 1 || rem.got[0] != inc.ID+"->ian" {
		t.Fatalf("reminders = %v, want one to the IM", rem.got)
	}
	// Snoozed: nothing until the snooze ends.
	e.now = inc.CreatedAt.Add(32 * time.Minute)
	if _, err := a1.SnoozeReminders(ctx, "ian", inc, time.Hour); err != nil {
		t.Fatal(err)
	}
	e.now = inc.CreatedAt.Add(70 * time.Minute)
	_ = a2.work.Tick(ctx)
	if rem.count() != 1 {
		t.Fatalf("reminded while snoozed: %v", rem.got)
	}
	tl, _ := e.store.Timeline(ctx, inc.ID)
	if got := types(tl); !strings.HasSuffix(got, "update_reminder,update_snoozed") {
		t.Errorf("timeline = %s", got)
	}
	// A late update records how late it was.
	e.now = inc.CreatedAt.Add(3 * time.Hour)
	if _, err := a1.PostUpdate(ctx, "ian", inc, "better now"); err != nil {
		t.Fatal(err)
	}
	tl, _ = e.store.Timeline(ctx, inc.ID)
	if last := tl[len(tl)-1]; last.Type != incident.EventStatusUpdate || last.Data[incident.DataOverdue] == "" {
		t.Errorf("late update without overdue time: %+v", last)
	}
}
