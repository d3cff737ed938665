package main

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// report collects one Markdown table per scenario: a row per measure, a
// column per bundle.
type report struct {
	mu       sync.Mutex
	bundles  []string
	bundle   int // the column being filled
	sections []*section
}

type section struct {
	title string
	rows  []string
	cells map[string][]string
	notes []string
}

func newReport(bundles []string) *report { return &report{bundles: bundles} }

func (r *report) section(title string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sections = append(r.sections, &section{title: title, cells: map[string][]string{}})
}

// add sets the current bundle's cell of the measure's row.
func (r *report) add(measure, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sections[len(r.sections)-1]
	if _, ok := s.cells[measure]; !ok {
		s.rows = append(s.rows, measure)
		s.cells[measure] = make([]string, len(r.bundles))
	}
	s.cells[measure][r.bundle] = fmt.Sprintf(format, args...)
	progress("  %s: %s", measure, s.cells[measure][r.bundle])
}

// note adds a line under the current section's table, naming the bundle
// when there are several.
func (r *report) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sections[len(r.sections)-1]
	line := fmt.Sprintf(format, args...)
	if len(r.bundles) > 1 {
		line = filepath.Base(r.bundles[r.bundle]) + ": " + line
	}
	s.notes = append(s.notes, line)
	progress("  note: %s", line)
}

func (r *report) print(w io.Writer) {
	for _, s := range r.sections {
		fmt.Fprintf(w, "\n### %s\n\n| measure |", s.title)
		for _, b := range r.bundles {
			fmt.Fprintf(w, " %s |", strings.TrimSuffix(filepath.Base(b), ".tar.gz"))
		}
		fmt.Fprint(w, "\n|---|")
		for range r.bundles {
			fmt.Fprint(w, "---|")
		}
		fmt.Fprintln(w)
		for _, row := range s.rows {
			fmt.Fprintf(w, "| %s |", row)
			for _, c := range s.cells[row] {
				fmt.Fprintf(w, " %s |", c)
			}
			fmt.Fprintln(w)
		}
		for _, n := range s.notes {
			fmt.Fprintln(w, "\n- "+n)
		}
	}
}

// sample is a set of durations.
type sample struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sample) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *sample) n() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.d)
}

// pct returns the p-th percentile (nearest rank); 0 when empty.
func (s *sample) pct(p int) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.d) == 0 {
		return 0
	}
	d := append([]time.Duration(nil), s.d...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := (len(d)*p + 99) / 100
	return d[max(i, 1)-1]
}

// summary is "median / p99 (n)" in milliseconds.
func (s *sample) summary() string {
	if s.n() == 0 {
		return "none"
	}
	return fmt.Sprintf("%.0f / %.0f ms (n=%d)", ms(s.pct(50)), ms(s.pct(99)), s.n())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
