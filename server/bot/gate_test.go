package bot

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// TestGateAdmitsBackgroundWorkAFewAtATimeUrgentFirst: calls outside
// background work pass at once; background calls beyond the bound wait,
// and a freed turn goes to the oldest urgent waiter before any other; a
// waiter whose context ends leaves the queue.
func TestGateAdmitsBackgroundWorkAFewAtATimeUrgentFirst(t *testing.T) {
	g := newGate(1)
	bg := work.WithBackgroundForTest(context.Background())
	first, err := g.enter(bg)
	if err != nil {
		t.Fatal(err)
	}
	// Someone waiting for an answer is not held up.
	if leave, err := g.enter(context.Background()); err != nil {
		t.Fatal(err)
	} else {
		leave()
	}

	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	waitFor := func(name string, ctx context.Context) {
		wg.Go(func() {
			leave, err := g.enter(ctx)
			if err != nil {
				mu.Lock()
				order = append(order, name+" gave up")
				mu.Unlock()
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			leave()
		})
	}
	queued := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; {
			g.mu.Lock()
			got := 0
			for _, q := range g.waiting {
				got += len(q)
			}
			g.mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d waiting, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("routine", bg)
	queued(1)
	gone, cancel := context.WithCancel(work.WithPriority(bg, work.Urgent))
	waitFor("cancelled", gone)
	queued(2)
	waitFor("prompt", work.WithPriority(bg, work.Prompt))
	queued(3)
	waitFor("urgent", work.WithPriority(bg, work.Urgent))
	queued(4)
	cancel()
	queued(3)
	first()
	wg.Wait()
	want := []string{"cancelled gave up", "urgent", "prompt", "routine"}
	if len(order) != len(want) {
		t.Fatalf("order = %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order = %v, want %v", order, want)
		}
	}
	if g.free != 1 {
		t.Errorf("free turns = %d after all left, want 1", g.free)
	}
}
