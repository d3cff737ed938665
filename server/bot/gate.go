package bot

import (
	"context"
	"slices"
	"sync"

	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// slowCalls is how many slow calls of the server (posts, joins) background
// work makes at once on this process. Measured with make soak on the 2-core
// test machine: with 16 or 48 at once the server did a third as much in
// all, and people's commands waited behind the bot's posts; with 4 it kept
// up best while commands stayed fast.
const slowCalls = 4

// gate admits the slow calls of background work slowCalls at a time, the
// most urgent first (see work.WithPriority); calls outside background work
// go straight through.
type gate struct {
	mu      sync.Mutex
	free    int
	waiting [work.Priorities][]chan struct{} // by priority; oldest first
}

func newGate(n int) *gate { return &gate{free: n} }

// enter waits for ctx's turn and returns the func that ends it; err only
// when ctx ends first.
func (g *gate) enter(ctx context.Context) (leave func(), err error) {
	if g == nil || !work.Background(ctx) {
		return func() {}, nil
	}
	lane := work.PriorityOf(ctx)
	g.mu.Lock()
	if g.free > 0 {
		g.free--
		g.mu.Unlock()
		return g.leave, nil
	}
	turn := make(chan struct{})
	g.waiting[lane] = append(g.waiting[lane], turn)
	g.mu.Unlock()
	select {
	case <-turn:
		return g.leave, nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if i := slices.Index(g.waiting[lane], turn); i >= 0 {
			g.waiting[lane] = slices.Delete(g.waiting[lane], i, i+1)
			return nil, ctx.Err()
		}
		// The turn came as ctx ended: pass it on.
		g.handOn()
		return nil, ctx.Err()
	}
}

// leave ends a turn: the next waiter, the most urgent first, takes it.
func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.handOn()
}

// handOn gives a free turn to the next waiter; g.mu is held.
func (g *gate) handOn() {
	for lane := work.Urgent; lane >= work.Routine; lane-- {
		if q := g.waiting[lane]; len(q) > 0 {
			g.waiting[lane] = q[1:]
			close(q[0])
			return
		}
	}
	g.free++
}
