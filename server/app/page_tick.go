package app

import (
	"context"
	"time"
)

// escalatePages fires due page timers (re-notifications, escalations).
// Placeholder until paging lands.
func (a *App) escalatePages(ctx context.Context, now time.Time) error { return nil }
