package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// startsAfterFill creates open incidents up to each size and, right
// after, times 15 starts back to back while the fill's follow-up work may
// still be running.
func (b *bench) startsAfterFill(ctx context.Context, r *report, sizes []int) error {
	open := 0
	for _, size := range sizes {
		if _, err := b.fill(ctx, size-open, 4, fmt.Sprintf("starts %d", size)); err != nil {
			return err
		}
		var s sample
		for i := range 15 {
			_, took, err := b.start(ctx, b.starters[0], fmt.Sprintf("Back to back %d-%d --severity S3", size, i))
			if err != nil {
				return err
			}
			s.add(took)
		}
		open = size + 15
		r.add(fmt.Sprintf("`/incident start` median / p99 at %d open", size), "%s", s.summary())
	}
	return nil
}

// kv measures what the store pays at each size: the rate at rest, a window
// after a burst of starts, and the statements per start with everything
// it causes over the next 3 minutes.
func (b *bench) kv(ctx context.Context, r *report, sizes []int) error {
	open := 0
	for _, size := range sizes {
		progress("  filling to %d open incidents", size)
		if _, err := b.fill(ctx, size-open, 4, fmt.Sprintf("kv %d", size)); err != nil {
			return err
		}
		filled := time.Now()
		open = size

		if err := sleep(ctx, time.Until(filled.Add(3*time.Minute))); err != nil {
			return err
		}
		c, d, err := b.window(ctx, 10*time.Second, nil)
		if err != nil {
			return err
		}
		r.add(fmt.Sprintf("%d open: a 10 s idle window 3 min after creating them", size), "%d statements (%s)", c.Total, topKeys(c, 5))
		_ = d

		if err := sleep(ctx, time.Until(filled.Add(4*time.Minute+30*time.Second))); err != nil {
			return err
		}
		rest, d, err := b.window(ctx, 30*time.Second, nil)
		if err != nil {
			return err
		}
		rate := float64(rest.Total) / d.Seconds()
		r.add(fmt.Sprintf("%d open: at rest (4.5 min after), statements/s", size), "%.1f (%s)", rate, topKeys(rest, 5))

		const starts = 5
		all, d, err := b.window(ctx, 3*time.Minute, func() error {
			for i := range starts {
				if _, _, err := b.start(ctx, b.starters[0], fmt.Sprintf("Counted %d-%d --severity S3", size, i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		open += starts
		per := (float64(all.Total) - rate*d.Seconds()) / starts
		r.add(fmt.Sprintf("%d open: statements per S3 start with all it causes over 3 min (idle rate taken off)", size), "%.0f (%d in %s; %s)",
			per, all.Total, d.Round(time.Second), topKeys(all, 6))
	}
	return nil
}

// window counts the KV statements of a window of length d, running work
// (if any) at its start.
func (b *bench) window(ctx context.Context, d time.Duration, work func() error) (harness.KVCount, time.Duration, error) {
	if err := b.srv.LogStatements(ctx, true); err != nil {
		return harness.KVCount{}, 0, err
	}
	defer func() { _ = b.srv.LogStatements(context.WithoutCancel(ctx), false) }()
	from, err := b.srv.StatementMark(ctx, "start")
	if err != nil {
		return harness.KVCount{}, 0, err
	}
	t0 := time.Now()
	if work != nil {
		if err := work(); err != nil {
			return harness.KVCount{}, 0, err
		}
	}
	if err := sleep(ctx, time.Until(t0.Add(d))); err != nil {
		return harness.KVCount{}, 0, err
	}
	to, err := b.srv.StatementMark(ctx, "end")
	if err != nil {
		return harness.KVCount{}, 0, err
	}
	return b.srv.CountKV(from, to), time.Since(t0), nil
}

// topKeys names the key kinds with the most statements.
func topKeys(c harness.KVCount, n int) string {
	type kv struct {
		k string
		n int
	}
	var all []kv
	for k, v := range c.Keys {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].k < all[j].k })
	var parts []string
	for i, e := range all {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", e.k, e.n))
	}
	return strings.Join(parts, ", ")
}
