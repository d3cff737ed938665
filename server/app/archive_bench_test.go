package app

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore/kvtest"
)

// The archive benchmarks move 1,000 incidents of 100 events each, with an
// action item each, through the production store (the KV store over the
// plugin API's in-memory KV) and report the KV calls per incident, which
// is what a real server's time follows.
const (
	benchIncidents = 1000
	benchEvents    = 100
)

// seedBench stores the benchmark's history in a new KV store.
func seedBench(b *testing.B) (*env, *kvtest.Counting) {
	b.Helper()
	kv := kvtest.New()
	st := kvstore.New(kv)
	e := newEnvOn(b, storeKind{name: "kv", open: func(testing.TB) incident.Store { return st }})
	e.app.names, e.app.dir = srcNames, admins{mmid("root1"): true}
	ctx := b.Context()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range benchIncidents {
		inc := &incident.Incident{ID: fmt.Sprintf("b%04d", i), Title: "Checkout down", Severity: incident.S2, TeamID: mmid("ops1"),
			ChannelID: fmt.Sprintf("ch%024d", i), Roles: map[incident.Role]string{incident.RoleIM: mmid("alice1"), incident.RoleL1: mmid("bob1")}}
		ev := inc.Start(at.Add(time.Duration(i)*time.Hour), mmid("alice1"))
		events := []incident.Event{ev}
		for j := 1; j < benchEvents; j++ {
			events = append(events, incident.NewEvent(ev.At.Add(time.Duration(j)*time.Minute), mmid("bob1"), incident.EventStatusUpdate,
				"Rolled back the payment client on the EU cluster; error rate falling, watching for another 10 minutes"))
		}
		for j := range events {
			events[j].Seq = j
		}
		if err := st.ImportIncident(ctx, inc, events); err != nil {
			b.Fatal(err)
		}
		if ok, err := st.CompareAndSetDoc(ctx, actionsDoc(inc.ID), nil, []byte(`{"items":[{"n":1,"text":"add alerts","owner":"`+mmid("bob1")+`"}]}`)); err != nil || !ok {
			b.Fatal(err)
		}
	}
	return e, kv
}

func BenchmarkArchiveExport1000x100(b *testing.B) {
	e, kv := seedBench(b)
	dir := b.TempDir()
	b.ResetTimer()
	for i := range b.N {
		before := kv.Snapshot()
		meta, err := e.app.ExportArchive(b.Context(), mmid("root1"), fileAt(filepath.Join(dir, fmt.Sprint(i))), ExportOptions{})
		if err != nil || meta.Incidents != benchIncidents || meta.Events != benchIncidents*benchEvents {
			b.Fatalf("export: %+v, %v", meta, err)
		}
		b.ReportMetric(float64(kv.Since(before).Calls())/benchIncidents, "kv-calls/incident")
	}
}

func BenchmarkArchiveImport1000x100(b *testing.B) {
	src, _ := seedBench(b)
	path := filepath.Join(b.TempDir(), "bench.incidents")
	if _, err := src.app.ExportArchive(b.Context(), mmid("root1"), fileAt(path), ExportOptions{}); err != nil {
		b.Fatal(err)
	}
	file, err := archivefile.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	arc := file.Source()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		kv := kvtest.New()
		st := kvstore.New(kv)
		dst := newEnvOn(b, storeKind{name: "kv", open: func(testing.TB) incident.Store { return st }})
		dst.app.names, dst.app.dir = dstNames, admins{mmid("root2"): true}
		b.StartTimer()
		rep, err := dst.app.ImportArchive(b.Context(), mmid("root2"), arc, false)
		if err != nil || len(rep.Created) != benchIncidents {
			b.Fatalf("import: %v", err)
		}
		b.ReportMetric(float64(kv.Snapshot().Calls())/benchIncidents, "kv-calls/incident")
	}
}
