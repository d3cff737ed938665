package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// The KV statements of one /incident start, counted where the real server
// pays for them: PostgreSQL's statement log of the throwaway cluster.
// Every plugin KV call is one or two statements on PluginKeyValueStore.

// kvCount is what one window of the statement log holds.
type kvCount struct {
	total    int
	byVerb   map[string]int
	duration time.Duration
}

func (c kvCount) String() string {
	return fmt.Sprintf("%d (SELECT %d, INSERT %d, UPDATE %d, DELETE %d) in %s", c.total,
		c.byVerb["SELECT"], c.byVerb["INSERT"], c.byVerb["UPDATE"], c.byVerb["DELETE"], c.duration.Round(time.Millisecond))
}

var kvStatement = regexp.MustCompile(`(?i)LOG:\s+(?:execute [^:]*|statement):\s+(SELECT|INSERT|UPDATE|DELETE)\b.*pluginkeyvaluestore`)

// countStatements logs every statement while work runs (then, for as long,
// while nothing does) and counts the plugin's KV statements of each.
func (b *bench) countStatements(ctx context.Context, work func() error) (busy, quiet kvCount, err error) {
	if _, err := b.srv.SQL(ctx, "ALTER SYSTEM SET log_statement = 'all'"); err != nil {
		return busy, quiet, err
	}
	defer func() {
		_, _ = b.srv.SQL(context.WithoutCancel(ctx), "ALTER SYSTEM RESET log_statement")
		_, _ = b.srv.SQL(context.WithoutCancel(ctx), "SELECT pg_reload_conf()")
	}()
	if _, err := b.srv.SQL(ctx, "SELECT pg_reload_conf()"); err != nil {
		return busy, quiet, err
	}
	window := func(name string, f func() error) (kvCount, error) {
		start, err := b.marker(ctx, name+"-start")
		if err != nil {
			return kvCount{}, err
		}
		t0 := time.Now()
		if err := f(); err != nil {
			return kvCount{}, err
		}
		// The worker may still be finishing (settling the follow-up,
		// releasing its lease): wait until the KV has been still a while.
		if err := b.still(ctx, start, 300*time.Millisecond); err != nil {
			return kvCount{}, err
		}
		d := time.Since(t0)
		end, err := b.marker(ctx, name+"-end")
		if err != nil {
			return kvCount{}, err
		}
		c := b.count(start, end)
		c.duration = d
		return c, nil
	}
	if busy, err = window("busy", work); err != nil {
		return busy, quiet, err
	}
	quiet, err = window("quiet", func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(busy.duration):
			return nil
		}
	})
	return busy, quiet, err
}

// marker writes a recognisable statement into the log and returns the
// log's size once it is there.
func (b *bench) marker(ctx context.Context, name string) (int64, error) {
	tag := fmt.Sprintf("latency-marker-%s-%d", name, time.Now().UnixNano())
	if _, err := b.srv.SQL(ctx, "SELECT '"+tag+"'"); err != nil {
		return 0, err
	}
	var size int64
	err := pollFor(ctx, 10*time.Second, 5*time.Millisecond, func() (bool, error) {
		raw, err := os.ReadFile(b.srv.PostgresLogPath())
		if err != nil {
			return false, err
		}
		i := strings.Index(string(raw), tag)
		size = int64(i)
		return i >= 0, nil
	})
	return size, err
}

// count counts the KV statements in the log between two offsets.
func (b *bench) count(from, to int64) kvCount {
	raw, err := os.ReadFile(b.srv.PostgresLogPath())
	c := kvCount{byVerb: map[string]int{}}
	if err != nil || to > int64(len(raw)) || from > to {
		return c
	}
	for _, line := range strings.Split(string(raw[from:to]), "\n") {
		if m := kvStatement.FindStringSubmatch(line); m != nil {
			c.total++
			c.byVerb[strings.ToUpper(m[1])]++
		}
	}
	return c
}

// still waits until no KV statement was logged after from for quiet.
func (b *bench) still(ctx context.Context, from int64, quiet time.Duration) error {
	last, since := -1, time.Now()
	return pollFor(ctx, 10*time.Second, 20*time.Millisecond, func() (bool, error) {
		info, err := os.Stat(b.srv.PostgresLogPath())
		if err != nil {
			return false, err
		}
		n := b.count(from, info.Size()).total
		if n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) >= quiet, nil
	})
}
