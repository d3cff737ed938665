package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
)

// fakeHandoffs records handoff posts and their updates. It can be told to
// fail the next posts, or to hold the next post until released.
type fakeHandoffs struct {
	mu       sync.Mutex
	posts    []*Handoff // a copy of each handoff as posted
	ids      []string   // the post id of each
	updates  map[string]*Handoff
	failNext int           // fail this many posts
	hold     chan struct{} // if set, the next post waits until it is closed
	held     chan struct{} // closed when a post is being held
	prefix   string        // of post ids; "handoffpost" if empty
	n        int
}

func newFakeHandoffs() *fakeHandoffs { return &fakeHandoffs{updates: map[string]*Handoff{}} }

func (f *fakeHandoffs) PostHandoff(_ context.Context, h *Handoff) (string, error) {
	f.mu.Lock()
	hold, held := f.hold, f.held
	f.hold, f.held = nil, nil
	if hold == nil && f.failNext > 0 {
		f.failNext--
		f.mu.Unlock()
		return "", errors.New("channel not found")
	}
	f.mu.Unlock()
	if hold != nil {
		close(held)
		<-hold
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	prefix := f.prefix
	if prefix == "" {
		prefix = "handoffpost"
	}
	id := fmt.Sprintf("%s%d", prefix, f.n)
	f.posts = append(f.posts, jsonCopy(h))
	f.ids = append(f.ids, id)
	return id, nil
}

func (f *fakeHandoffs) UpdateHandoff(_ context.Context, h *Handoff) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates[h.PostID] = jsonCopy(h)
	return nil
}

func (f *fakeHandoffs) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.posts)
}

// clock is a settable clock shared by several Apps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newNode builds one more App over store, as another plugin instance of a
// cluster would be: its own chat, its own handoff poster, a shared clock.
func newNode(t *testing.T, store incident.Store, clk *clock, chat *fakeChat, posts *fakeHandoffs) *App {
	t.Helper()
	a, err := New(Deps{
		Inline: true,
		Store:  store, Chat: chat, Notifier: chat, Access: access{}, Directory: admins{"root": true},
		Schedules: func(spec string) (rota.Schedule, *time.Location, error) {
			s, err := schedule.Parse(spec)
			if err != nil {
				return nil, nil, err
			}
			return s, s.Location, nil
		},
		Settings: func() Settings { return Settings{} },
		Clock:    clk.now,
		IDs:      func() string { return "unused" },
		Handoffs: posts,
		Log:      zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
