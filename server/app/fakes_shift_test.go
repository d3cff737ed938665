package app

import (
	"context"
	"fmt"
	"sync"
)

// fakeShifts records shift posts, their updates and direct messages.
type fakeShifts struct {
	mu      sync.Mutex
	posts   map[string]ShiftPost // by post id, as last rendered
	told    map[string][]string  // user -> messages
	failDMs bool
}

func newFakeShifts() *fakeShifts {
	return &fakeShifts{posts: map[string]ShiftPost{}, told: map[string][]string{}}
}

func (f *fakeShifts) PostShift(_ context.Context, s *ShiftPost) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("shiftpost%d", len(f.posts)+1)
	f.posts[id] = *s
	return id, nil
}

func (f *fakeShifts) UpdateShift(_ context.Context, s *ShiftPost) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.posts[s.Request.PostID]; !ok {
		return fmt.Errorf("no post %s", s.Request.PostID)
	}
	f.posts[s.Request.PostID] = *s
	return nil
}

func (f *fakeShifts) Tell(_ context.Context, user, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failDMs {
		return fmt.Errorf("direct messages are down")
	}
	f.told[user] = append(f.told[user], text)
	return nil
}

func (f *fakeShifts) messages(user string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.told[user]...)
}

func (f *fakeShifts) post(id string) (ShiftPost, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.posts[id]
	return p, ok
}
