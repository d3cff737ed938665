package app

import "context"

// Tick runs the periodic work: the one entry point of the cluster job,
// called once per cluster every few seconds. Each step logs its own
// errors; a panic in one step is logged and does not stop the others or
// the plugin.
func (a *App) Tick(ctx context.Context) {
	a.tickStep(ctx, "due work", a.work.Tick)
	a.tickStep(ctx, "on-duty board", func(ctx context.Context) error { return a.refreshBoard(ctx, false) })
}

// Activate prepares the work this process runs: the index entries that
// every installation needs (the rota handoff) are made sure of, and what
// an older version of the plugin left in its own index moves into the
// engine's, once per cluster. The plugin calls it on activation, before
// the first tick; errors are logged, the next activation tries again.
func (a *App) Activate(ctx context.Context) {
	if d, err := a.rotaDirectory(ctx); err != nil {
		a.log.Warn().Err(err).Msg("read the rotas to schedule their handoffs")
	} else {
		for _, e := range d.Rotas {
			if err := a.work.Schedule(ctx, kindHandoff, handoffWorkKey(e), a.now()); err != nil {
				a.log.Warn().Err(err).Str("rota", e.Name).Msg("schedule the rota handoff")
			}
		}
	}
	if err := a.migrateIndex(ctx); err != nil {
		a.log.Warn().Err(err).Msg("move an older version's work index; retried at the next activation")
	}
}
