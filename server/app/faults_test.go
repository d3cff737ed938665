package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore/kvtest"
)

// The fault sweep: a start, an acknowledgement and a resolve each run, over
// each store kind, with the store failing their N-th write, for every N up to the writes the
// path and its follow-up make, the failed write either lost or landed (the
// answer lost after the database committed); then the store recovers and
// the ticks catch up, as the cluster would over the next minutes. Each
// time the incident must end whole: every event on the timeline once, the
// card current, nothing announced, paged or posted twice, and what the
// user was told happened did happen.

// sweep runs check for every write of op (after setup) failing, both
// ways, over each store kind. op reports whether the user was told it
// succeeded.
func sweep(t *testing.T, setup func(*costEnv) any, op func(*costEnv, any) error, check func(*testing.T, *costEnv, any, error)) {
	forEachStore(t, func(t *testing.T, s storeKind) {
		// Count the writes of a run without faults.
		e, faults := newFaultEnv(t, s)
		state := setup(e)
		before := faults.Writes()
		if err := op(e, state); err != nil {
			t.Fatalf("without faults: %v", err)
		}
		e.runHeld()
		writes := faults.Writes() - before
		check(t, e, state, nil)
		t.Logf("%d writes", writes)
		for n := int64(1); n <= writes; n++ {
			for _, landed := range []bool{false, true} {
				t.Run(fmt.Sprintf("write%d-landed=%t", n, landed), func(t *testing.T) {
					e, faults := newFaultEnv(t, s)
					state := setup(e)
					faults.FailWrite(n, landed)
					err := op(e, state)
					e.runHeld()
					faults.FailWrite(0, false)
					e.ticksAfterACrash()
					check(t, e, state, err)
				})
			}
		}
	})
}

// newFaultEnv is a costEnv over a new store of kind s whose writes the
// sweep can fail.
func newFaultEnv(t testing.TB, s storeKind) (*costEnv, writeFaults) {
	t.Helper()
	st, faults := s.faulty(t)
	return newCostEnvOn(t, st), faults
}

// writeFaults counts the writes of a store and fails the one it is told
// to, each in the store's unit of writing: a KV call for the KV store, a
// transaction for bbolt.
type writeFaults interface {
	// Writes returns the writes so far.
	Writes() int64
	// FailWrite makes the n-th write from now fail, once; with landed it
	// is applied first, as when the database committed and the answer was
	// lost. n 0 clears it.
	FailWrite(n int64, landed bool)
}

// kvFaults are the faults of the KV store: its KV's Sets.
type kvFaults struct{ *kvtest.Counting }

func (k kvFaults) Writes() int64 { return k.Snapshot().Sets }

// storeFaults wraps a Store whose every changing call is one write (as a
// bbolt transaction is), and fails them as told.
type storeFaults struct {
	incident.Store
	mu             sync.Mutex
	writes, failIn int64
	landed         bool
}

var _ writeFaults = (*storeFaults)(nil)

func (s *storeFaults) Writes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

func (s *storeFaults) FailWrite(n int64, landed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failIn, s.landed = n, landed
}

// write runs do as the next write, failed as FailWrite said.
func (s *storeFaults) write(do func() error) error {
	s.mu.Lock()
	s.writes++
	fail, landed := false, s.landed
	if s.failIn > 0 {
		s.failIn--
		fail = s.failIn == 0
	}
	s.mu.Unlock()
	if !fail {
		return do()
	}
	if landed {
		_ = do()
	}
	return kvtest.ErrInjected
}

func (s *storeFaults) CreateIncident(ctx context.Context, inc *incident.Incident) error {
	return s.write(func() error { return s.Store.CreateIncident(ctx, inc) })
}

func (s *storeFaults) UpdateIncident(ctx context.Context, id string, mutate func(*incident.Incident) error) (out *incident.Incident, err error) {
	err = s.write(func() (err error) { out, err = s.Store.UpdateIncident(ctx, id, mutate); return err })
	return out, err
}

func (s *storeFaults) DeleteIncident(ctx context.Context, id string) error {
	return s.write(func() error { return s.Store.DeleteIncident(ctx, id) })
}

func (s *storeFaults) AppendEvent(ctx context.Context, id string, ev incident.Event) (out incident.Event, err error) {
	err = s.write(func() (err error) { out, err = s.Store.AppendEvent(ctx, id, ev); return err })
	return out, err
}

func (s *storeFaults) CompareAndSetDoc(ctx context.Context, name string, old, next []byte) (ok bool, err error) {
	err = s.write(func() (err error) { ok, err = s.Store.CompareAndSetDoc(ctx, name, old, next); return err })
	return ok, err
}

func (s *storeFaults) Claim(ctx context.Context, key string, ttl time.Duration) (ok bool, err error) {
	err = s.write(func() (err error) { ok, err = s.Store.Claim(ctx, key, ttl); return err })
	return ok, err
}

// whole checks what every incident of the env must be after recovery.
func (e *costEnv) whole(t *testing.T, id string) (*incident.Incident, map[incident.EventType]int) {
	t.Helper()
	inc, err := e.app.store.GetIncident(ctx, id)
	if err != nil {
		t.Fatalf("incident %s: %v", id, err)
	}
	if len(inc.Outbox) != 0 {
		t.Errorf("follow-ups still owed: %+v", inc.Outbox)
	}
	tl, err := e.app.store.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	n := map[incident.EventType]int{}
	keys := map[string]bool{}
	for _, ev := range tl {
		n[ev.Type]++
		if ev.Key != "" && keys[ev.Key] {
			t.Errorf("event %s (%s) twice on the timeline", ev.Key, ev.Type)
		}
		keys[ev.Key] = true
	}
	card := e.chat().cards[inc.CardPostID]
	if inc.CardPostID == "" || card == nil || card.Status != inc.Status || card.Severity != inc.Severity {
		t.Errorf("card %q shows %+v; the incident is %s %s", inc.CardPostID, card, inc.Severity, inc.Status)
	}
	cards := 0
	for _, c := range e.chat().cards {
		if c.ID == id {
			cards++
		}
	}
	if cards != 1 {
		t.Errorf("%d cards for the incident", cards)
	}
	announced := strings.Count(strings.Join(e.chat().announced, " "), id+"@")
	if announced != 1 {
		t.Errorf("announced %d times", announced)
	}
	if n[incident.EventStarted] != 1 || n[incident.EventRoleAssigned] != 5 || n[incident.EventPaged] != 1 {
		t.Errorf("timeline counts %v; want one start, five roles, one page", n)
	}
	pages := 0
	for _, s := range e.pager.sends() {
		if strings.HasPrefix(s.page, id+"-") && s.notice.Number == 1 {
			pages++
		}
	}
	if pages != 1 {
		t.Errorf("the first line was paged %d times", pages)
	}
	for _, v := range append(append(e.chat().once.problems(), e.pager.once.problems()...), e.pager.violations...) {
		t.Error(v)
	}
	return inc, n
}

func startS3(e *costEnv) (*incident.Incident, error) {
	return e.app.Start(ctx, StartRequest{TeamID: "team", ActorID: "alice", Title: "Checkout slow", Severity: incident.S3})
}

func TestStartSurvivesAFailedWrite(t *testing.T) {
	sweep(t, func(*costEnv) any { return nil },
		func(e *costEnv, _ any) error { _, err := startS3(e); return err },
		func(t *testing.T, e *costEnv, _ any, err error) {
			list, _, lerr := e.app.store.ListActive(ctx, 0)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if err != nil {
				// Refused: nothing is left, every channel made is archived.
				if len(list) != 0 {
					t.Errorf("a failed start left incident %+v", list[0])
				}
				if c := e.chat(); len(c.channels) != len(c.archived) || len(c.announced) != 0 || len(e.pager.sends()) != 0 {
					t.Errorf("a failed start left channels %v (archived %v), announcements %v, pages %v", c.channels, c.archived, c.announced, e.pager.sends())
				}
				return
			}
			if len(list) != 1 {
				t.Fatalf("%d incidents after one start", len(list))
			}
			e.whole(t, list[0].ID)
		})
}

// ackState is the page an acknowledgement sweep acknowledges.
type ackState struct {
	inc  *incident.Incident
	page sent
}

func TestAcknowledgementSurvivesAFailedWrite(t *testing.T) {
	sweep(t, func(e *costEnv) any {
		inc, err := startS3(e)
		if err != nil {
			t.Fatal(err)
		}
		e.runHeld()
		return ackState{inc, e.pager.sends()[0]}
	}, func(e *costEnv, s any) error {
		_, err := e.app.AcknowledgePage(ctx, s.(ackState).page.target, s.(ackState).page.page)
		return err
	}, func(t *testing.T, e *costEnv, s any, err error) {
		st := s.(ackState)
		_, n := e.whole(t, st.inc.ID)
		p, ok, lerr := loadDoc[Page](ctx, e.app.store, pageDoc(st.page.page))
		if lerr != nil || !ok {
			t.Fatalf("page: %v %v", ok, lerr)
		}
		if err == nil && p.AckedAt.IsZero() {
			t.Fatal("the acknowledgement was confirmed but not stored")
		}
		want := 0
		if !p.AckedAt.IsZero() {
			want = 1
			for _, pp := range p.Posts {
				if r := e.pager.renders[pp.ID]; r == nil || r.AckedAt.IsZero() {
					t.Errorf("post %s does not show the acknowledgement", pp.ID)
				}
			}
		}
		if p.AckPending || n[incident.EventPageAcknowledged] != want {
			t.Errorf("acknowledgement pending %v, %d events; want %d", p.AckPending, n[incident.EventPageAcknowledged], want)
		}
	})
}

func TestResolveSurvivesAFailedWrite(t *testing.T) {
	sweep(t, func(e *costEnv) any {
		inc, err := startS3(e)
		if err != nil {
			t.Fatal(err)
		}
		e.runHeld()
		return inc
	}, func(e *costEnv, s any) error {
		_, err := e.app.Resolve(ctx, "alice", s.(*incident.Incident), "fixed")
		return err
	}, func(t *testing.T, e *costEnv, s any, err error) {
		inc, n := e.whole(t, s.(*incident.Incident).ID)
		if err == nil && inc.Status != incident.StatusResolved {
			t.Fatal("the resolve was confirmed but not stored")
		}
		resolved := inc.Status == incident.StatusResolved
		want := map[bool]int{true: 1}[resolved]
		if n[incident.EventResolved] != want {
			t.Errorf("resolved %v: %d resolve events; want %d", resolved, n[incident.EventResolved], want)
		}
		pm := e.postmortems()
		if got := strings.Count(strings.Join(pm.published, " "), inc.ID+"@"); got != want {
			t.Errorf("postmortem published %d times, want %d", got, want)
		}
		for _, v := range pm.once.problems() {
			t.Error(v)
		}
		if sum, ok, _ := loadDoc[Summary](ctx, e.app.store, summaryDoc(inc.ID)); !ok || sum.Resolved != resolved {
			t.Errorf("summary stored %v (%+v), resolved %v", ok, sum, resolved)
		}
	})
}
