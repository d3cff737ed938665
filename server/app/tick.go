package app

import "context"

// Tick runs the periodic work: the one entry point of the cluster job,
// called once per cluster every few seconds. Each step logs its own
// errors; a panic in one step is logged and does not stop the others or
// the plugin.
func (a *App) Tick(ctx context.Context) {
	now := a.now()
	a.tickStep(ctx, "announce handoff", func(ctx context.Context) error { return a.announceHandoff(ctx, now) })
	a.tickStep(ctx, "due work", a.work.Tick)
	a.tickStep(ctx, "on-duty board", func(ctx context.Context) error { return a.refreshBoard(ctx, false) })
}
