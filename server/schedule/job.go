package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mattermost/mattermost/server/public/pluginapi/cluster"
	"github.com/rs/zerolog"
)

// TickKey names the tick job in the cluster package, which stores its
// metadata under "cron_" + TickKey and its lock under "mutex_cron_" +
// TickKey; none of the plugin's own keys start with those prefixes.
const TickKey = "tick"

// DefaultTickInterval is how often the plugin's periodic work runs, once per
// cluster, counted from the end of the previous run. Five seconds keeps
// due timers (escalations, reminders) within ten seconds of their time,
// while costing only a few KV reads per tick.
const DefaultTickInterval = 5 * time.Second

// TickTimeout bounds one tick through its context. Ticks run under the
// cluster job's lock and Close waits for a running tick, so a tick must
// stay short; the lock's 15-second lease is refreshed while it runs.
const TickTimeout = 10 * time.Second

// Job runs a tick function once per cluster at an interval: every node of a
// Mattermost cluster starts one, and pluginapi/cluster's lock and shared
// "last finished" time make exactly one node run each tick. It is not a
// per-node ticker, and the work it runs must still be idempotent (a node
// dying mid-tick means the next tick runs it again).
type Job struct {
	job *cluster.Job
}

// StartTick schedules tick every interval (DefaultTickInterval if zero).
// The first tick runs at once unless another node (or this plugin before a
// restart) ticked within the interval. Each tick gets a context that ends
// after TickTimeout; a panic in tick is logged, not propagated, since it
// would kill the plugin process.
func StartTick(api cluster.JobPluginAPI, interval time.Duration, tick func(context.Context), log zerolog.Logger) (*Job, error) {
	if interval <= 0 {
		interval = DefaultTickInterval
	}
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), TickTimeout)
		defer cancel()
		defer func() {
			if r := recover(); r != nil {
				log.Error().Interface("panic", r).Msg("tick panicked")
			}
		}()
		start := time.Now()
		tick(ctx)
		if d := time.Since(start); d > TickTimeout {
			log.Warn().Dur("took", d).Msg("tick overran its timeout; keep periodic work short")
		}
	}
	j, err := cluster.Schedule(api, TickKey, cluster.MakeWaitForInterval(interval), run)
	if err != nil {
		return nil, fmt.Errorf("schedule tick job: %w", err)
	}
	return &Job{job: j}, nil
}

// ErrCloseTimeout is returned by Close when the job did not stop in time.
var ErrCloseTimeout = errors.New("tick job did not stop in time")

// Close stops the job on this node, waiting at most timeout for a running
// tick to finish. cluster's own Close has no limit (it also waits while
// another node holds the lock), and a plugin disable must not hang; on
// timeout the job's goroutine is left to end with the plugin process.
func (j *Job) Close(timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- j.job.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return ErrCloseTimeout
	}
}
