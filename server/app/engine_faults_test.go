package app

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// poisonStore is a store whose records of some incidents cannot be read,
// as when a record was damaged or written by something else.
type poisonStore struct {
	incident.Store
	ids map[string]bool
}

var errPoisoned = errors.New("invalid character 'x' looking for beginning of value")

func (s poisonStore) GetIncident(ctx context.Context, id string) (*incident.Incident, error) {
	if s.ids[id] {
		return nil, fmt.Errorf("decode incident %s: %w", id, errPoisoned)
	}
	return s.Store.GetIncident(ctx, id)
}

func (s poisonStore) UpdateIncident(ctx context.Context, id string, mutate func(*incident.Incident) error) (*incident.Incident, error) {
	if s.ids[id] {
		return nil, fmt.Errorf("decode incident %s: %w", id, errPoisoned)
	}
	return s.Store.UpdateIncident(ctx, id, mutate)
}

// A poisoned incident record and a poisoned page record, while the pages
// of ten other incidents re-notify and escalate on two nodes, and then a
// 10-minute outage of the plugin: every other timer fires once, late by
// at most the outage; the two poisoned subjects are set aside once each,
// and hold up nothing.
func TestPoisonedRecordsHoldUpNoOtherTimerThroughAnOutage(t *testing.T) {
	forEachStore(t, testPoisonedRecordsHoldUpNoOtherTimerThroughAnOutage)
}

func testPoisonedRecordsHoldUpNoOtherTimerThroughAnOutage(t *testing.T, s storeKind) {
	poison := poisonStore{Store: s.open(t), ids: map[string]bool{}}
	e := &pageEnv{store: poison, clk: &clock{t: t0}, chat: newFakeChat(), settings: pageSettings()}
	e.addNode(t, "node0")
	e.addNode(t, "node1")

	var healthy []string
	var badPage, badIncident, badIncidentPage string
	for i := range 12 {
		e.clk.set(t0.Add(time.Duration(i) * 10 * time.Second))
		inc := e.incident(t, incident.S1, chain())
		p, err := e.nodes[i%2].Page(ctx, inc, PageRequest{Actor: "zed", Role: incident.RoleL1})
		if err != nil {
			t.Fatal(err)
		}
		switch i {
		case 3:
			// The page record becomes undecodable.
			badPage = p.ID
			old, err := e.store.GetDoc(ctx, pageDoc(p.ID))
			if err != nil || old == nil {
				t.Fatalf("page %s: %v", p.ID, err)
			}
			if ok, err := e.store.CompareAndSetDoc(ctx, pageDoc(p.ID), old, []byte(`{"id":`)); !ok || err != nil {
				t.Fatalf("poison page %s: %v %v", p.ID, ok, err)
			}
		case 6:
			// The incident record becomes unreadable, with a follow-up
			// timer of its own due in a minute.
			badIncident, badIncidentPage = inc.ID, p.ID
			poison.ids[inc.ID] = true
			if err := e.nodes[0].work.Schedule(ctx, kindIncident, inc.ID, e.clk.now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		default:
			healthy = append(healthy, p.ID)
		}
	}

	// Two minutes of ticks on both nodes, a 10-minute outage, then ticks
	// again until every chain has run out.
	const outage = 10 * time.Minute
	tick := func(from, to time.Time) {
		for at := from; !at.After(to); at = at.Add(5 * time.Second) {
			e.clk.set(at)
			e.tickAll(1)
		}
	}
	down := t0.Add(3 * time.Minute)
	tick(t0.Add(2*time.Minute), down)
	tick(down.Add(outage), t0.Add(45*time.Minute))

	byPage := e.checkExactlyOnce(t, healthy)
	for _, id := range healthy {
		p := e.record(t, id)
		var levels []string
		for _, s := range byPage[id] {
			if s.notice.Kind != NoticeEscalate {
				continue
			}
			levels = append(levels, fmt.Sprint(s.notice.Level, s.target))
			due := p.Targets[s.notice.Level-2].At.Add(5 * time.Minute)
			if late := s.at.Sub(due); late < 0 || late > outage+5*time.Second {
				t.Errorf("page %s: escalation to level %d %s late (due %s)", id, s.notice.Level, late, due.Format(time.TimeOnly))
			}
		}
		if fmt.Sprint(levels) != "[2bob 3cat 4dan]" {
			t.Errorf("page %s escalated %v", id, levels)
		}
	}

	letters, err := e.nodes[1].work.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]int{}
	for _, d := range letters {
		set[d.Kind+" "+d.Key]++
		if d.Key != badPage && d.Key != badIncident && d.Key != badIncidentPage {
			t.Errorf("a healthy subject was set aside: %+v", d)
		}
	}
	for _, want := range []string{kindPage + " " + badPage, kindIncident + " " + badIncident} {
		if set[want] != 1 {
			t.Errorf("%s set aside %d times, want once; letters %v", want, set[want], set)
		}
	}
}

// ticksAfterACrash ticks the env every 5 seconds for 3 minutes (what
// watching a dead worker's lease stand still needs), then every minute
// for 12, as the cluster's other nodes would.
func (e *costEnv) ticksAfterACrash() {
	at := e.clk.now()
	for i := range 36 + 12 {
		step := 5 * time.Second
		if i >= 36 {
			step = time.Minute
		}
		at = at.Add(step)
		e.clk.set(at)
		e.app.Tick(ctx)
		e.runHeld()
	}
}

// dropHeld drops the follow-up work held so far, as a process that died
// right after its commits would; there must be some.
func (e *costEnv) dropHeld(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.held) == 0 {
		t.Fatal("no follow-up work was held to drop")
	}
	e.held = nil
}

// A process that dies right after a change is committed, before its
// follow-up ran (the wake that would have run it lost with the process):
// the work still happens, once, found by the next ticks. A start, a status
// update and a resolve each die so, in turn.
func TestFollowUpOfACrashedProcessStillHappens(t *testing.T) {
	forEachStore(t, func(t *testing.T, s storeKind) {
		e := newCostEnvOn(t, s.open(t))
		inc, err := startS3(e)
		if err != nil {
			t.Fatal(err)
		}
		e.dropHeld(t)
		e.ticksAfterACrash()
		e.whole(t, inc.ID)

		if inc, err = e.app.store.GetIncident(ctx, inc.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.PostUpdate(ctx, "alice", inc, "Rolled back the deploy"); err != nil {
			t.Fatal(err)
		}
		e.dropHeld(t)
		e.ticksAfterACrash()
		if got := e.chat().publishedText("Rolled back the deploy"); got != 1 {
			t.Errorf("the update was published %d times, want once", got)
		}

		if inc, err = e.app.store.GetIncident(ctx, inc.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Resolve(ctx, "alice", inc, "Fixed"); err != nil {
			t.Fatal(err)
		}
		e.dropHeld(t)
		e.ticksAfterACrash()
		inc, n := e.whole(t, inc.ID)
		if inc.Status != incident.StatusResolved || n[incident.EventStatusUpdate] != 1 || n[incident.EventResolved] != 1 {
			t.Errorf("status %s, timeline %v: want resolved with one update and one resolution", inc.Status, n)
		}
		if got := len(e.postmortems().published); got != 1 {
			t.Errorf("%d postmortems posted, want one", got)
		}
	})
}

// publishedText counts the events published whose text is text.
func (f *fakeChat) publishedText(text string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, ev := range f.published {
		if ev.Text == text {
			n++
		}
	}
	return n
}
