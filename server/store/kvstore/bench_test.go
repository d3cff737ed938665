package kvstore_test

import (
	"fmt"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
)

// BenchmarkAppend times appends to a timeline that already holds 10 or
// 10,000 events, and reports what each append costs the KV: bytes written
// (new values only; a compare-and-set also ships the old value, about as
// large) and calls. The chunked layout should make both sizes cost the same.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			kv := newCountingKV()
			s := kvstore.New(kv)
			mustCreate(b, s, "inc1", "ch1")
			fill(b, s, "inc1", n)
			e := incident.NewEvent(t0, "bob", incident.EventStatusUpdate, "Rolled back checkout to 4.2.1; error rate is falling, watching for 15 more minutes.")
			before := kv.Snapshot()
			ops := 0
			for b.Loop() {
				if _, err := s.AppendEvent(b.Context(), "inc1", e); err != nil {
					b.Fatal(err)
				}
				ops++
			}
			d := kv.Since(before)
			b.ReportMetric(float64(d.Written)/float64(ops), "B_written/op")
			b.ReportMetric(float64(d.Gets+d.Sets+d.Deletes)/float64(ops), "kv_calls/op")
			b.ReportMetric(float64(d.Gets)/float64(ops), "kv_reads/op")
		})
	}
}

// BenchmarkTimelineRead times reading a 10,000-event timeline and reports
// the KV reads per read: one per chunk plus the head (and a probe when the
// last chunk is full).
func BenchmarkTimelineRead(b *testing.B) {
	const n = 10_000
	b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
		kv := newCountingKV()
		s := kvstore.New(kv)
		mustCreate(b, s, "inc1", "ch1")
		fill(b, s, "inc1", n)
		before := kv.Snapshot()
		ops := 0
		for b.Loop() {
			events, err := s.Timeline(b.Context(), "inc1")
			if err != nil || len(events) != n {
				b.Fatalf("Timeline: %d events, %v", len(events), err)
			}
			ops++
		}
		b.ReportMetric(float64(kv.Since(before).Gets)/float64(ops), "kv_reads/op")
		b.ReportMetric(float64((n+31)/32), "chunks")
	})
}
