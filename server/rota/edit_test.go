package rota

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// imOnDuty lists who is on duty for im in weeks from..to.
func imOnDuty(r *Rota, from, to int) []string {
	var out []string
	for k := from; k <= to; k++ {
		out = append(out, r.OnDuty(mon, in(k))[im].UserID)
	}
	return out
}

func TestSetMembersKeepsTheWeekInProgress(t *testing.T) {
	cases := []struct {
		name string
		edit func(r *Rota) ([]Swap, error)
		want []string // on duty in weeks 1..5; the edit is made in week 1
	}{
		{"reorder keeps the member on duty", func(r *Rota) ([]Swap, error) {
			return r.SetMembers(im, []string{"d", "b", "a"}, mon, in(1))
		}, []string{"b", "a", "d", "b", "a"}},
		{"append continues the order", func(r *Rota) ([]Swap, error) {
			return r.AddMember(im, "d", mon, in(1))
		}, []string{"b", "c", "d", "a", "b"}},
		{"removing the member on duty hands over to the next now", func(r *Rota) ([]Swap, error) {
			return r.RemoveMember(im, "b", mon, in(1))
		}, []string{"c", "a", "c", "a", "c"}},
		{"removing another member", func(r *Rota) ([]Swap, error) {
			return r.RemoveMember(im, "a", mon, in(1))
		}, []string{"b", "c", "b", "c", "b"}},
		{"a wholly new list starts from its first member", func(r *Rota) ([]Swap, error) {
			return r.SetMembers(im, []string{"x", "y"}, mon, in(1))
		}, []string{"x", "y", "x", "y", "x"}},
		{"replacing the member on duty: the next old member still listed takes over", func(r *Rota) ([]Swap, error) {
			return r.SetMembers(im, []string{"a", "x", "c"}, mon, in(1))
		}, []string{"c", "a", "x", "c", "a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRota(map[incident.Role][]string{im: {"a", "b", "c"}})
			if got := imOnDuty(r, 1, 1); got[0] != "b" {
				t.Fatalf("fixture: week 1 is %v", got)
			}
			if _, err := c.edit(r); err != nil {
				t.Fatal(err)
			}
			if got := imOnDuty(r, 1, 5); !reflect.DeepEqual(got, c.want) {
				t.Errorf("weeks 1-5 = %v, want %v", got, c.want)
			}
		})
	}
}

func TestSetMembersWithoutWeeks(t *testing.T) {
	r := &Rota{}
	if _, err := r.SetMembers(l1, []string{"p", "q"}, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	r.Anchor = a0
	if got := r.OnDuty(mon, in(0))[l1].UserID; got != "p" {
		t.Errorf("week 0 = %s, want the first member", got)
	}
	if _, err := r.SetMembers(l1, nil, mon, in(0)); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Members[l1]; ok || len(r.OnDuty(mon, in(0))) != 0 {
		t.Errorf("cleared rota still has members: %+v", r)
	}
}

func TestMemberEditsDropStaleSwaps(t *testing.T) {
	fresh := func() *Rota {
		r := newRota(map[incident.Role][]string{im: {"a", "b", "c"}})
		if err := r.AddSwap(Swap{Role: im, A: "b", B: "c", Week: in(1)}, mon, in(0)); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := fresh()
	if dropped, err := r.AddMember(im, "d", mon, in(0)); err != nil || len(dropped) != 0 || len(r.Swaps) != 1 {
		t.Errorf("appending keeps weeks 1 and 2: dropped %v, err %v", dropped, err)
	}
	r = fresh()
	dropped, err := r.RemoveMember(im, "c", mon, in(0))
	if err != nil || len(dropped) != 1 || dropped[0].B != "c" || len(r.Swaps) != 0 {
		t.Errorf("removing B must drop the swap: dropped %v, err %v, left %v", dropped, err, r.Swaps)
	}
	r = fresh()
	dropped, err = r.SetMembers(im, []string{"a", "c", "b"}, mon, in(0))
	if err != nil || len(dropped) != 1 || len(r.Swaps) != 0 {
		t.Errorf("a reorder that moves b off week 1 must drop the swap: dropped %v, err %v", dropped, err)
	}
	if got := imOnDuty(r, 1, 2); !reflect.DeepEqual(got, []string{"c", "b"}) {
		t.Errorf("after dropping: %v", got)
	}
}

func TestMemberEditErrors(t *testing.T) {
	r := newRota(map[incident.Role][]string{im: {"a", "b"}})
	many := make([]string, MaxMembers+1)
	for i := range many {
		many[i] = strings.Repeat("u", i+1)
	}
	cases := []struct {
		name string
		err  error
		kind incident.Kind
		want string
	}{
		{"set: unknown role", second(r.SetMembers("boss", []string{"a"}, mon, in(0))), incident.KindInvalid, `unknown role "boss"`},
		{"set: empty id", second(r.SetMembers(l1, []string{"a", " "}, mon, in(0))), incident.KindInvalid, "member 2 of the First line rota is empty"},
		{"set: duplicate", second(r.SetMembers(l1, []string{"a", "b", "a"}, mon, in(0))), incident.KindInvalid, "<@a> is named twice in the First line rota"},
		{"set: too many", second(r.SetMembers(l1, many, mon, in(0))), incident.KindInvalid, "the limit is 100"},
		{"add: unknown role", second(r.AddMember("boss", "a", mon, in(0))), incident.KindInvalid, "unknown role"},
		{"add: empty id", second(r.AddMember(im, "", mon, in(0))), incident.KindInvalid, "member 3 of the Incident manager rota is empty"},
		{"add: already a member", second(r.AddMember(im, "a", mon, in(0))), incident.KindConflict, "<@a> is already in the Incident manager rota"},
		{"remove: unknown role", second(r.RemoveMember("", "a", mon, in(0))), incident.KindInvalid, "unknown role"},
		{"remove: not a member", second(r.RemoveMember(im, "z", mon, in(0))), incident.KindNotFound, "<@z> is not in the Incident manager rota"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !isKind(c.err, c.kind) || !strings.Contains(c.err.Error(), c.want) {
				t.Errorf("err = %v (%v), want %v containing %q", c.err, incident.KindOf(c.err), c.kind, c.want)
			}
		})
	}
	if !reflect.DeepEqual(r.Members, map[incident.Role][]string{im: {"a", "b"}}) {
		t.Errorf("failed edits changed the rota: %v", r.Members)
	}
}

func second[T any](_ T, err error) error { return err }

func TestAddOverride(t *testing.T) {
	r := newRota(nil)
	r.Away = []Away{{UserID: "b", From: in(0), To: in(2)}}
	warns, err := r.AddOverride(Override{Role: l2, UserID: "b", From: in(1), To: in(3), By: "admin"})
	if err != nil || len(r.Overrides) != 1 {
		t.Fatalf("AddOverride: %v", err)
	}
	if len(warns) != 1 || !warns[0].From.Equal(in(1)) || !warns[0].To.Equal(in(2)) {
		t.Errorf("warnings = %+v, want the overlap week 1 to 2", warns)
	}
	if warns, _ := r.AddOverride(Override{Role: l2, UserID: "b", From: in(2), To: in(3)}); len(warns) != 0 {
		t.Errorf("override after the away period warned: %+v", warns)
	}
	cases := []struct {
		name string
		o    Override
		want string
	}{
		{"unknown role", Override{Role: "boss", UserID: "b", From: in(0), To: in(1)}, "unknown role"},
		{"no user", Override{Role: l2, From: in(0), To: in(1)}, "needs the user who covers Second line"},
		{"no start", Override{Role: l2, UserID: "b", To: in(1)}, "needs a start and an end"},
		{"no end", Override{Role: l2, UserID: "b", From: in(0)}, "needs a start and an end"},
		{"empty period", Override{Role: l2, UserID: "b", From: in(1), To: in(1)}, "ends (2026-03-11 11:00 UTC) before it starts (2026-03-11 11:00 UTC)"},
		{"backwards", Override{Role: l2, UserID: "b", From: in(1), To: in(0)}, "ends"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(r.Overrides)
			_, err := r.AddOverride(c.o)
			if !isInvalid(err) || !strings.Contains(err.Error(), c.want) || len(r.Overrides) != n {
				t.Errorf("err = %v, want invalid containing %q", err, c.want)
			}
		})
	}
	full := &Rota{Overrides: make([]Override, MaxEntries)}
	if _, err := full.AddOverride(Override{Role: l2, UserID: "b", From: in(1), To: in(2)}); !isInvalid(err) || !strings.Contains(err.Error(), "remove old ones") {
		t.Errorf("full: %v", err)
	}
}

func TestAddAway(t *testing.T) {
	r := newRota(nil)
	r.Overrides = []Override{{Role: im, UserID: "b", From: in(1), To: in(3)}, {Role: l1, UserID: "c", From: in(1), To: in(3)}}
	warns, err := r.AddAway(Away{UserID: "b", From: in(2), To: in(5)})
	if err != nil || len(r.Away) != 1 {
		t.Fatalf("AddAway: %v", err)
	}
	if len(warns) != 1 || warns[0].Override.Role != im || !warns[0].From.Equal(in(2)) || !warns[0].To.Equal(in(3)) {
		t.Errorf("warnings = %+v", warns)
	}
	cases := []struct {
		name string
		a    Away
		want string
	}{
		{"no user", Away{From: in(0), To: in(1)}, "needs the user who is away"},
		{"blank user", Away{UserID: "  ", From: in(0), To: in(1)}, "needs the user who is away"},
		{"no dates", Away{UserID: "b"}, "needs a start and an end"},
		{"backwards", Away{UserID: "b", From: in(1), To: in(0)}, "before it starts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.AddAway(c.a)
			if !isInvalid(err) || !strings.Contains(err.Error(), c.want) || len(r.Away) != 1 {
				t.Errorf("err = %v, want invalid containing %q", err, c.want)
			}
		})
	}
	full := &Rota{Away: make([]Away, MaxEntries)}
	if _, err := full.AddAway(Away{UserID: "b", From: in(1), To: in(2)}); !isInvalid(err) {
		t.Errorf("full: %v", err)
	}
}

func TestAddSwap(t *testing.T) {
	fresh := func() *Rota { return newRota(map[incident.Role][]string{im: {"a", "b", "c"}, l1: {"p"}}) }
	r := fresh()
	if err := r.AddSwap(Swap{Role: im, A: "b", B: "a", Week: in(1), By: "admin"}, mon, in(0)); err != nil {
		t.Fatal(err)
	}
	if !r.Swaps[0].Week.Equal(week(1)) {
		t.Errorf("stored week %v, want the week's start %v", r.Swaps[0].Week, week(1))
	}
	if got := imOnDuty(r, 0, 4); !reflect.DeepEqual(got, []string{"a", "a", "c", "b", "b"}) {
		t.Errorf("weeks 0-4 after swapping b's week 1 with a: %v", got)
	}
	// The week in progress may be swapped too.
	if err := fresh().AddSwap(Swap{Role: im, A: "b", B: "c", Week: in(1)}, mon, in(1)); err != nil {
		t.Errorf("swap of the current week: %v", err)
	}

	cases := []struct {
		name string
		r    *Rota
		sw   Swap
		kind incident.Kind
		want string
	}{
		{"unknown role", fresh(), Swap{Role: "boss", A: "a", B: "b", Week: in(3)}, incident.KindInvalid, "unknown role"},
		{"missing member", fresh(), Swap{Role: im, A: "a", Week: in(3)}, incident.KindInvalid, "needs two members"},
		{"with self", fresh(), Swap{Role: im, A: "a", B: "a", Week: in(3)}, incident.KindInvalid, "cannot swap with themselves"},
		{"no week", fresh(), Swap{Role: im, A: "a", B: "b"}, incident.KindInvalid, "needs the week"},
		{"no handoff yet", &Rota{Members: map[incident.Role][]string{im: {"a", "b"}}}, Swap{Role: im, A: "a", B: "b", Week: in(3)}, incident.KindInvalid, "no handoff schedule yet"},
		{"A not a member", fresh(), Swap{Role: im, A: "p", B: "b", Week: in(3)}, incident.KindInvalid, "<@p> is not in the Incident manager rota"},
		{"B not a member", fresh(), Swap{Role: im, A: "a", B: "p", Week: in(3)}, incident.KindInvalid, "<@p> is not in the Incident manager rota"},
		{"week over", fresh(), Swap{Role: im, A: "a", B: "b", Week: in(-3)}, incident.KindInvalid, "the week of 2026-02-09 08:00 UTC is over"},
		{"A not on duty", fresh(), Swap{Role: im, A: "a", B: "b", Week: in(4)}, incident.KindInvalid, "<@a> is not on duty for Incident manager in the week of 2026-03-30 07:00 UTC (<@b> is)"},
		{"shares W with a swap", r, Swap{Role: im, A: "a", B: "c", Week: in(3)}, incident.KindConflict, "a swap of <@b> and <@a> already moves"},
		{"shares W' with a swap", r, Swap{Role: im, A: "c", B: "a", Week: in(2)}, incident.KindConflict, "already moves"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(c.r.Swaps)
			err := c.r.AddSwap(c.sw, mon, in(0))
			if !isKind(err, c.kind) || !strings.Contains(err.Error(), c.want) || len(c.r.Swaps) != n {
				t.Errorf("err = %v (%v), want %v containing %q", err, incident.KindOf(err), c.kind, c.want)
			}
		})
	}
	if err := r.AddSwap(Swap{Role: im, A: "c", B: "a", Week: in(5)}, mon, in(0)); err != nil {
		t.Errorf("a swap on other weeks: %v", err)
	}
	if err := r.AddSwap(Swap{Role: im, A: "a", B: "b", Week: in(3)}, nil, in(0)); !isInvalid(err) {
		t.Errorf("nil schedule: %v", err)
	}
}

func TestSetHandoff(t *testing.T) {
	r := newRota(map[incident.Role][]string{im: {"a", "b", "c"}, l1: {"p", "q"}})
	r.Handoff = "CRON_TZ=Europe/Berlin 0 9 * * MON"
	if err := r.AddSwap(Swap{Role: im, A: "b", B: "c", Week: in(4)}, mon, in(2)); err != nil {
		t.Fatal(err)
	}
	if err := r.AddSwap(Swap{Role: im, A: "c", B: "a", Week: in(2)}, mon, in(2)); err != nil {
		t.Fatal(err)
	}
	now := in(2) // Wednesday of week 2: c (by swap: a) on IM, p on L1
	before := r.OnDuty(mon, now)
	wed := weekly{time.Wednesday, 10, 0, newYork, false}

	if _, err := r.SetHandoff(" ", mon, wed, now); !isInvalid(err) {
		t.Errorf("empty spec: %v", err)
	}
	if _, err := r.SetHandoff("CRON_TZ=Europe/Berlin 30 2 * * SUN", mon, weekly{time.Sunday, 2, 30, berlin, false}, now); !isInvalid(err) {
		t.Errorf("a spec in the DST change must be refused: %v", err)
	}
	dropped, err := r.SetHandoff("CRON_TZ=America/New_York 0 10 * * WED", mon, wed, now)
	if err != nil || len(dropped) != 0 {
		t.Fatalf("SetHandoff: dropped %v, err %v", dropped, err)
	}
	// now, Wednesday 18 March 11:00 UTC, is before 10:00 EDT: the last handoff was a week earlier.
	if r.Handoff != "CRON_TZ=America/New_York 0 10 * * WED" || !r.Anchor.Equal(utc(2026, 3, 11, 14, 0)) {
		t.Errorf("handoff %q anchor %v", r.Handoff, r.Anchor.UTC())
	}
	if after := r.OnDuty(wed, now); !reflect.DeepEqual(after, before) {
		t.Errorf("on duty now: before %v, after %v", before, after)
	}
	// The new weeks start on Wednesdays; each keeps its place in the rotation
	// and the swaps keep their distance from the week in progress.
	wantIM := []Duty{
		{UserID: "a", Source: SourceSwap, For: "c"}, // old week 2 (a by swap), in progress
		{UserID: "c", Source: SourceSwap, For: "a"}, // old week 3: c takes a's week
		{UserID: "c", Source: SourceSwap, For: "b"}, // old week 4: c takes b's week
		{UserID: "b", Source: SourceSwap, For: "c"}, // old week 5: b takes c's week
		{UserID: "a", Source: SourceRota},
		{UserID: "b", Source: SourceRota},
	}
	for i, want := range wantIM {
		at := r.Anchor.AddDate(0, 0, 7*i).Add(time.Hour)
		if d := r.OnDuty(wed, at)[im]; d != want {
			t.Errorf("new week %d: %+v, want %+v", i, d, want)
		}
	}
	// Without an old schedule there is nothing to continue.
	dropped, err = r.SetHandoff("again", nil, wed, now)
	if err != nil || len(dropped) != 2 || len(r.Swaps) != 0 || r.OnDuty(wed, now)[im].UserID != "a" || r.OnDuty(wed, now)[l1].UserID != "p" {
		t.Errorf("restart: dropped %v, err %v, on duty %v", dropped, err, r.OnDuty(wed, now))
	}
}

func TestPrune(t *testing.T) {
	r := newRota(map[incident.Role][]string{im: {"a", "b", "c"}, l2: {"d", "e"}})
	r.Offset = map[incident.Role]int{im: 1}
	r.Overrides = []Override{
		{Role: im, UserID: "old", From: in(0), To: in(1)},
		{Role: im, UserID: "new", From: in(9), To: in(10)},
	}
	r.Away = []Away{{UserID: "a", From: in(0), To: week(9)}, {UserID: "d", From: in(1), To: in(2)}}
	must(t, r.AddSwap(Swap{Role: im, A: "a", B: "b", Week: in(1)}, mon, in(0)))  // weeks 1 and 2: ended
	must(t, r.AddSwap(Swap{Role: im, A: "c", B: "b", Week: in(6)}, mon, in(0)))  // weeks 6 and 8: ongoing at week 7
	must(t, r.AddSwap(Swap{Role: l2, A: "e", B: "d", Week: in(7)}, mon, in(0)))  // weeks 7 and 8
	r.Swaps = append(r.Swaps, Swap{Role: im, A: "a", B: "gone", Week: week(10)}) // stale

	var want []map[incident.Role]Duty
	for k := 6; k < 30; k++ {
		want = append(want, r.OnDuty(mon, in(k)))
	}
	if want[0][im] != (Duty{UserID: "b", Source: SourceSwap, For: "c"}) || want[1][l2] != (Duty{UserID: "d", Source: SourceSwap, For: "e"}) {
		t.Fatalf("fixture: the swaps must be in force in weeks 6 and 7: %v %v", want[0], want[1])
	}
	removed := r.Prune(mon, in(7))
	if removed != 4 {
		t.Errorf("removed %d, want 4 (an override, an away period, an ended swap, a stale swap)", removed)
	}
	if len(r.Overrides) != 1 || r.Overrides[0].UserID != "new" || len(r.Away) != 1 || len(r.Swaps) != 2 {
		t.Errorf("left: %+v %+v %+v", r.Overrides, r.Away, r.Swaps)
	}
	if !r.Anchor.Equal(week(7)) {
		t.Errorf("anchor %v, want the start of week 7", r.Anchor)
	}
	for i, k := 0, 6; k < 30; i, k = i+1, k+1 {
		if got := r.OnDuty(mon, in(k)); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("week %d: %v after pruning, %v before", k, got, want[i])
		}
	}
	if n := r.Prune(nil, in(40)); n != 2 || len(r.Swaps) != 2 {
		t.Errorf("without a schedule swaps must stay: removed %d, swaps %v", n, r.Swaps)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestEditsAreDeterministic(t *testing.T) {
	// Member edits touch maps; the result must not depend on map order.
	build := func() *Rota {
		r := newRota(nil)
		for _, role := range slices.Backward(incident.Roles) {
			_, _ = r.SetMembers(role, []string{"a", "b", "c"}, mon, in(0))
		}
		_, _ = r.SetHandoff("x", mon, weekly{time.Tuesday, 8, 0, newYork, false}, in(3))
		return r
	}
	first := build()
	for range 20 {
		if again := build(); !reflect.DeepEqual(first, again) {
			t.Fatalf("%+v\n%+v", first, again)
		}
	}
}

// Ending overrides and away periods drops those to come, cuts the one in
// force at the instant, and leaves the past and other people alone.
func TestEndOverridesAndAway(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return at.Add(time.Duration(n) * time.Hour) }
	r := &Rota{
		Overrides: []Override{
			{Role: incident.RoleL1, UserID: "ann", From: h(-48), To: h(-24)}, // past
			{Role: incident.RoleL1, UserID: "ann", From: h(-1), To: h(5)},    // in force
			{Role: incident.RoleL1, UserID: "ann", From: h(24), To: h(48)},   // to come
			{Role: incident.RoleL2, UserID: "ann", From: h(-1), To: h(5)},    // another role
			{Role: incident.RoleL1, UserID: "bob", From: h(-1), To: h(5)},    // another person
		},
		Away: []Away{
			{UserID: "ann", From: h(-1), To: h(5)},
			{UserID: "ann", From: h(10), To: h(20)},
			{UserID: "bob", From: h(10), To: h(20)},
		},
	}
	if n := r.EndOverrides(incident.RoleL1, "ann", at); n != 2 {
		t.Fatalf("ended %d overrides, want 2", n)
	}
	if len(r.Overrides) != 4 || !r.Overrides[1].To.Equal(at) || r.Overrides[0].To != h(-24) || r.Overrides[2].To != h(5) {
		t.Errorf("overrides after: %+v", r.Overrides)
	}
	if n := r.EndAway("ann", at); n != 2 {
		t.Fatalf("ended %d away periods, want 2", n)
	}
	if len(r.Away) != 2 || !r.Away[0].To.Equal(at) || r.Away[1].UserID != "bob" {
		t.Errorf("away after: %+v", r.Away)
	}
	if n := r.EndOverrides(incident.RoleL1, "ann", at); n != 0 {
		t.Errorf("ended %d overrides twice", n)
	}
}
