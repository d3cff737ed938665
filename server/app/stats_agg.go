package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Figures sum up a group of incidents (those of a team in a shard of a
// month, then those a view may see in a month): how many per severity,
// the times to acknowledge, mitigate and resolve per severity as
// histograms with their sums, incidents per week, pages and role stints
// per person. Their size follows the number of distinct buckets and
// people, not of incidents, so that a stats view reads a month's figures
// at the same cost whatever the month holds.
type Figures struct {
	N map[incident.Severity]int `json:"n,omitempty"`
	// Durs and Sums are per metric (MetricAck, MetricMitigate,
	// MetricResolve) and severity: a histogram (see bucketOf) and the
	// exact sum in milliseconds.
	Durs   [3]map[incident.Severity]hist  `json:"d"`
	Sums   [3]map[incident.Severity]int64 `json:"s"`
	Weeks  map[string]int                 `json:"w,omitempty"` // week start (Monday, UTC, 2006-01-02) -> incidents
	Pages  map[string]int                 `json:"pg,omitempty"`
	Stints map[string]int                 `json:"st,omitempty"`
}

// The metrics of Figures.Durs.
const (
	MetricAck = iota
	MetricMitigate
	MetricResolve
)

// hist counts durations per bucket.
type hist map[int32]int32

// bucketOf is d's bucket: whole seconds below two minutes, then steps of
// 2%, so that a quantile read from a histogram is within 1% of the exact
// one, and a histogram has at most a few hundred buckets.
func bucketOf(d time.Duration) int32 {
	s := d.Seconds()
	if s < 120 {
		return int32(max(s, 0))
	}
	return 120 + int32(math.Round(math.Log(s/120)/math.Log(1.02)))
}

// bucketValue is the duration bucket b stands for.
func bucketValue(b int32) time.Duration {
	if b < 120 {
		return time.Duration(b) * time.Second
	}
	return (time.Duration(120*math.Pow(1.02, float64(b-120))) * time.Second).Round(time.Second)
}

// add counts e.
func (f *Figures) add(e *StatsEntry) {
	if f.N == nil {
		f.N = map[incident.Severity]int{}
	}
	f.N[e.Sev]++
	for m, d := range []*time.Duration{e.TTA, e.TTM, e.TTR} {
		if d == nil {
			continue
		}
		if f.Durs[m] == nil {
			f.Durs[m], f.Sums[m] = map[incident.Severity]hist{}, map[incident.Severity]int64{}
		}
		if f.Durs[m][e.Sev] == nil {
			f.Durs[m][e.Sev] = hist{}
		}
		f.Durs[m][e.Sev][bucketOf(*d)]++
		f.Sums[m][e.Sev] += d.Milliseconds()
	}
	f.Weeks = addCount(f.Weeks, weekOf(e.Created), 1)
	for u, n := range e.Pages {
		f.Pages = addCount(f.Pages, u, n)
	}
	for u, n := range e.Stints {
		f.Stints = addCount(f.Stints, u, n)
	}
}

// merge adds g to f.
func (f *Figures) merge(g *Figures) {
	for sev, n := range g.N {
		if f.N == nil {
			f.N = map[incident.Severity]int{}
		}
		f.N[sev] += n
	}
	for m := range g.Durs {
		for sev, h := range g.Durs[m] {
			if f.Durs[m] == nil {
				f.Durs[m], f.Sums[m] = map[incident.Severity]hist{}, map[incident.Severity]int64{}
			}
			if f.Durs[m][sev] == nil {
				f.Durs[m][sev] = hist{}
			}
			for b, n := range h {
				f.Durs[m][sev][b] += n
			}
			f.Sums[m][sev] += g.Sums[m][sev]
		}
	}
	for w, n := range g.Weeks {
		f.Weeks = addCount(f.Weeks, w, n)
	}
	for u, n := range g.Pages {
		f.Pages = addCount(f.Pages, u, n)
	}
	for u, n := range g.Stints {
		f.Stints = addCount(f.Stints, u, n)
	}
}

func addCount(m map[string]int, k string, n int) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[k] += n
	return m
}

func weekOf(t time.Time) string {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)).Format("2006-01-02")
}

// Summary returns metric m of severity sev: how many, the mean (exact)
// and the p90 (nearest rank, within 1%).
func (f *Figures) Summary(m int, sev incident.Severity) DurationStats {
	h := f.Durs[m][sev]
	n := 0
	for _, c := range h {
		n += int(c)
	}
	if n == 0 {
		return DurationStats{}
	}
	return DurationStats{N: n, Mean: time.Duration(f.Sums[m][sev]/int64(n)) * time.Millisecond, P90: h.quantile(0.9)}
}

// Quantile is the nearest-rank quantile q of metric m of severity sev,
// and how many durations there are.
func (f *Figures) Quantile(m int, sev incident.Severity, q float64) (time.Duration, int) {
	h := f.Durs[m][sev]
	n := 0
	for _, c := range h {
		n += int(c)
	}
	if n == 0 {
		return 0, 0
	}
	return h.quantile(q), n
}

func (h hist) quantile(q float64) time.Duration {
	buckets := make([]int32, 0, len(h))
	n := 0
	for b, c := range h {
		buckets = append(buckets, b)
		n += int(c)
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i] < buckets[j] })
	rank := max(int(math.Ceil(q*float64(n))), 1)
	for _, b := range buckets {
		if rank -= int(h[b]); rank <= 0 {
			return bucketValue(b)
		}
	}
	return 0
}

// shardFigures are what a shard's incidents add up to, kept in the
// shard's document before its entries: the public incidents' figures by
// team, the private (and team-less) incidents whole (each is counted only
// for who reads its channel), and the open action items with a due date.
type shardFigures struct {
	Teams   map[string]*Figures `json:"t,omitempty"`
	Private []*StatsEntry       `json:"p,omitempty"`
	Due     []dueRef            `json:"d,omitempty"`
}

// dueRef is an incident's open action items with a due date.
type dueRef struct {
	ID      string    `json:"id"`
	Channel string    `json:"c,omitempty"`
	Due     []DueItem `json:"d"`
}

// sumShard computes a shard's figures from its entries.
func sumShard(entries map[string]*StatsEntry) *shardFigures {
	ids := make([]string, 0, len(entries))
	for id := range entries {
		ids = append(ids, id)
	}
	sort.Strings(ids) // one document for one set of entries
	sf := &shardFigures{}
	for _, id := range ids {
		e := entries[id]
		e.ID = id
		if len(e.Due) > 0 {
			sf.Due = append(sf.Due, dueRef{ID: id, Channel: e.Channel, Due: e.Due})
		}
		if e.Private || e.Team == "" {
			sf.Private = append(sf.Private, e)
			continue
		}
		if sf.Teams == nil {
			sf.Teams = map[string]*Figures{}
		}
		if sf.Teams[e.Team] == nil {
			sf.Teams[e.Team] = &Figures{}
		}
		sf.Teams[e.Team].add(e)
	}
	return sf
}

// readShardFigures decodes only the figures of a shard document, which
// come first: the entries after them are not read.
func readShardFigures(raw []byte) (*shardFigures, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a shard document")
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if key == "a" {
			var sf shardFigures
			err := dec.Decode(&sf)
			return &sf, err
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return nil, io.ErrUnexpectedEOF
}

// MarshalJSON writes h as a flat list of bucket, count pairs, in bucket
// order: a view of a month decodes a few hundred of them per shard, and
// a list of numbers decodes several times faster than an object.
func (h hist) MarshalJSON() ([]byte, error) {
	buckets := make([]int32, 0, len(h))
	for b := range h {
		buckets = append(buckets, b)
	}
	slices.Sort(buckets)
	out := []byte{'['}
	for i, b := range buckets {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendInt(out, int64(b), 10)
		out = append(out, ',')
		out = strconv.AppendInt(out, int64(h[b]), 10)
	}
	return append(out, ']'), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (h *hist) UnmarshalJSON(raw []byte) error {
	s := strings.TrimSpace(string(raw))
	if s == "null" {
		return nil
	}
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return fmt.Errorf("a histogram is a list of numbers, not %.20q", s)
	}
	*h = hist{}
	if s = strings.TrimSpace(s[1 : len(s)-1]); s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	if len(parts)%2 != 0 {
		return fmt.Errorf("a histogram lists bucket, count pairs: %d numbers", len(parts))
	}
	for i := 0; i < len(parts); i += 2 {
		b, err1 := strconv.ParseInt(strings.TrimSpace(parts[i]), 10, 32)
		c, err2 := strconv.ParseInt(strings.TrimSpace(parts[i+1]), 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("histogram: %w", err)
		}
		(*h)[int32(b)] += int32(c)
	}
	return nil
}
