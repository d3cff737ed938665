package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuMark is a reading of where the machine's CPU time went so far.
type cpuMark struct {
	at            time.Time
	machine, idle float64 // seconds, all cores
	plugin, self  float64 // seconds
	// calls are the plugin's API calls per method, handlers the runs of
	// its entry points, as the usage route counts them.
	calls, handlers map[string]timed
}

// timed is a count and the seconds it took in all.
type timed struct {
	N       int64   `json:"n"`
	Seconds float64 `json:"seconds"`
}

// cpuNow reads the machine's counters, the plugin's (from its usage
// route) and this process's.
func (b *bench) cpuNow(ctx context.Context) cpuMark {
	m := cpuMark{at: time.Now()}
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(raw), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			n, _ := strconv.ParseFloat(v, 64)
			m.machine += n / 100
			if i == 3 || i == 4 { // idle, iowait
				m.idle += n / 100
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.URL+"/plugins/"+pluginID+"/api/v1/usage", nil)
	req.Header.Set("Authorization", "Bearer "+b.srv.Admin.Client.AuthToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var u struct {
			User     float64          `json:"user_seconds"`
			System   float64          `json:"system_seconds"`
			Calls    map[string]timed `json:"calls"`
			Handlers map[string]timed `json:"handlers"`
		}
		if json.Unmarshal(raw, &u) == nil {
			m.plugin, m.calls, m.handlers = u.User+u.System, u.Calls, u.Handlers
		}
	}
	return m
}

// cpuSince says where the CPU went between two readings, in percent of
// one core: the plugin, this load tool, and the rest (the Mattermost
// server, PostgreSQL and the system).
func cpuSince(from, to cpuMark) string {
	d := to.at.Sub(from.at).Seconds()
	if d <= 0 {
		return "unknown"
	}
	busy := (to.machine - from.machine) - (to.idle - from.idle)
	plugin, self := to.plugin-from.plugin, to.self-from.self
	return fmt.Sprintf("busy %.0f%% (plugin %.0f%%, load tool %.0f%%, server, database and system %.0f%%)",
		100*busy/d, 100*plugin/d, 100*self/d, 100*(busy-plugin-self)/d)
}

// callsSince names the plugin API calls per second between two readings,
// the most frequent first, each with its mean time.
func callsSince(from, to cpuMark) string {
	return ratesSince(from.calls, to.calls, to.at.Sub(from.at).Seconds(), "%s %.0f/s %.1f ms")
}

// handlersSince names the plugin's entry points that ran between two
// readings, with how often (per second) and their mean time inside the
// plugin.
func handlersSince(from, to cpuMark) string {
	return ratesSince(from.handlers, to.handlers, to.at.Sub(from.at).Seconds(), "%s %.1f/s %.1f ms")
}

func ratesSince(from, to map[string]timed, d float64, format string) string {
	if d <= 0 {
		return "unknown"
	}
	type rate struct {
		name     string
		perS, ms float64
	}
	var all []rate
	for name, t := range to {
		n, s := t.N-from[name].N, t.Seconds-from[name].Seconds
		if r := float64(n) / d; n > 0 && r >= 0.1 {
			all = append(all, rate{name, r, 1000 * s / float64(n)})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].perS > all[j].perS })
	var parts []string
	for _, r := range all {
		parts = append(parts, fmt.Sprintf(format, r.name, r.perS, r.ms))
	}
	return strings.Join(parts, ", ")
}
