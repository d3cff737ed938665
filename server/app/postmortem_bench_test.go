package app

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
)

// readCounter counts KV reads, to show what a postmortem costs the store.
type readCounter struct {
	kvstore.KV
	reads atomic.Int64
}

func (c *readCounter) Get(key string, o any) error {
	c.reads.Add(1)
	return c.KV.Get(key, o)
}

// BenchmarkPostmortem10000 generates the postmortem of an incident with a
// 10,000-event timeline from the production KV store: time per postmortem,
// and KV reads per postmortem (one per timeline chunk plus a constant).
func BenchmarkPostmortem10000(b *testing.B) {
	e := newEnv(b)
	kv := &readCounter{KV: &pluginapi.MemoryStore{}}
	st := kvstore.New(kv)
	a := e.app.derive(func(a *App) { a.store = st })
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	inc := &incident.Incident{ID: "bench1", Title: "Ten thousand events", Severity: incident.S2, TeamID: "t", ChannelID: "c"}
	start := inc.Start(t0, "u0")
	if err := st.CreateIncident(ctx, inc); err != nil {
		b.Fatal(err)
	}
	if _, err := st.AppendEvent(ctx, inc.ID, start); err != nil {
		b.Fatal(err)
	}
	for i := 1; i < 10000; i++ {
		typ := incident.EventNote
		if i%10 == 0 {
			typ = incident.EventStatusUpdate
		}
		ev := incident.NewEvent(t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("u%d", i%7), typ, fmt.Sprintf("event %d: checked the gateway and the queue depth", i))
		if _, err := st.AppendEvent(ctx, inc.ID, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var reads int64
	for i := 0; i < b.N; i++ {
		before := kv.reads.Load()
		md, err := a.Postmortem(ctx, inc)
		if err != nil || len(md) == 0 {
			b.Fatal(err)
		}
		reads += kv.reads.Load() - before
	}
	b.ReportMetric(float64(reads)/float64(b.N), "kv_reads/op")
	b.ReportMetric(float64((10000+31)/32), "chunks") // kvstore seals a chunk at 32 events
}
