package app

import (
	"context"
	"fmt"
	"sync"
)

// fakeReach records what went beyond the chat; webhookFails fails that
// many webhook posts first.
type fakeReach struct {
	mu           sync.Mutex
	emails       []*ReachMessage
	hooks        []*ReachMessage
	webhookFails int
	off          string
}

func (f *fakeReach) EmailPage(_ context.Context, m *ReachMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.emails = append(f.emails, m)
	return nil
}

func (f *fakeReach) WebhookPage(_ context.Context, m *ReachMessage, url, secret string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks = append(f.hooks, m)
	if f.webhookFails > 0 {
		f.webhookFails--
		return 503, fmt.Errorf("HTTP 503")
	}
	return 200, nil
}

func (f *fakeReach) EmailOff() string { return f.off }

func (f *fakeReach) counts() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.emails), len(f.hooks)
}
