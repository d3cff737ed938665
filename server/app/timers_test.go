package app

import (
	"testing"
	"time"
)

// The wheel finds what is due and only that, moves entries with a compare
// on the value seen, and lets its cursor pass empty buckets only once no
// writer can still put an entry there.
func TestTimerWheel(t *testing.T) { forEachStore(t, testTimerWheel) }

func testTimerWheel(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	a := e.app
	now := func() time.Time { return e.now }
	e.now = t0
	if _, err := a.setTimer(ctx, workTimers, "soon", t0.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.setTimer(ctx, workTimers, "late", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	past, err := a.setTimer(ctx, workTimers, "past", t0.Add(-time.Hour)) // already due: placed in now's bucket
	if err != nil || past.bucket != bucketOf(t0.UnixMilli()) {
		t.Fatalf("an entry already due went to bucket %d (%v), want now's", past.bucket, err)
	}
	due := func(at time.Time) map[string]dueEntry {
		t.Helper()
		list, err := a.dueBy(ctx, workTimers, at)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]dueEntry{}
		for _, d := range list {
			m[d.id] = d
		}
		return m
	}
	if got := due(now()); len(got) != 1 || got["past"].at == 0 {
		t.Fatalf("due at t0: %v, want only the past entry", got)
	}
	got := due(t0.Add(2 * time.Minute))
	if len(got) != 2 || got["soon"].at == 0 {
		t.Fatalf("due at t0+2m: %v", got)
	}
	// Moving an entry on a stale sighting changes nothing.
	stale := got["soon"]
	stale.at--
	if err := a.applyTimers(ctx, workTimers, []dueChange{{id: "soon", seen: stale.slot}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := due(t0.Add(2 * time.Minute))["soon"]; !ok {
		t.Fatal("a stale sighting removed the entry")
	}
	if err := a.applyTimers(ctx, workTimers, []dueChange{{id: "soon", seen: got["soon"].slot}, {id: "past", seen: got["past"].slot}}); err != nil {
		t.Fatal(err)
	}
	// Hours later the cursor catches up over a few ticks, always reading
	// the recent buckets, and the late entry comes due exactly once.
	at := t0.Add(3*time.Hour + time.Minute)
	found := 0
	for range 10 {
		if d, ok := due(at)["late"]; ok {
			found++
			if err := a.applyTimers(ctx, workTimers, []dueChange{{id: "late", seen: d.slot}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if found != 1 {
		t.Fatalf("the late entry came due %d times", found)
	}
	cur, _, err := loadDoc[timerCursor](ctx, a.store, workTimers.cursorDoc())
	if err != nil || cur.Bucket < bucketOf(at.Add(-cursorLag-bucketWidth).UnixMilli()) || cur.Bucket > bucketOf(at.Add(-cursorLag).UnixMilli()) {
		t.Errorf("cursor at bucket %d (%v), want about %s behind", cur.Bucket, err, cursorLag)
	}
	// An entry written by a node whose clock is a minute behind still
	// lands at or after the cursor.
	behind := at.Add(-time.Minute)
	e.now = behind
	if _, err := a.touchTimer(ctx, workTimers, "skewed", behind); err != nil {
		t.Fatal(err)
	}
	if _, ok := due(at)["skewed"]; !ok {
		t.Error("an entry from a node a minute behind was missed")
	}
}

// Entries of the v1 page index move into the wheel at the first tick.
func TestV1PageTimersMoveIntoTheWheel(t *testing.T) {
	forEachStore(t, testV1PageTimersMoveIntoTheWheel)
}

func testV1PageTimersMoveIntoTheWheel(t *testing.T, s storeKind) {
	e := newEnvOn(t, s)
	e.now = t0
	if _, err := createDoc(ctx, e.app.store, "page/v1/due/3", &timerShard{Due: map[string]int64{"i1-p": t0.Add(time.Minute).UnixMilli()}}); err != nil {
		t.Fatal(err)
	}
	list, err := e.app.dueBy(ctx, pageTimers, t0.Add(2*time.Minute))
	if err != nil || len(list) != 1 || list[0].id != "i1-p" {
		t.Fatalf("due = %v, %v; want the v1 entry", list, err)
	}
	if raw, _ := e.app.store.GetDoc(ctx, "page/v1/due/3"); raw != nil {
		t.Errorf("v1 shard left: %s", raw)
	}
}
