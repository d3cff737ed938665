package rota

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// randomCase builds a random rota, policy and instant from rng: up to ten
// people, rotas of zero to five members, overrides (some by people outside
// every rota), away periods and swaps (through AddSwap, so only valid ones
// stay), all within a dozen weeks around the anchor.
func randomCase(rng *rand.Rand, s Schedule) (*Rota, Policy, time.Time) {
	people := make([]string, 3+rng.IntN(8))
	for i := range people {
		people[i] = fmt.Sprintf("u%d", i)
	}
	anchor := s.Next(a0.Add(-time.Nanosecond))
	instant := func() time.Time {
		return anchor.Add(time.Duration(rng.Int64N(int64(12*7*24*time.Hour))) - 2*7*24*time.Hour)
	}
	period := func() (time.Time, time.Time) {
		from := instant()
		return from, from.Add(time.Duration(1 + rng.Int64N(int64(10*24*time.Hour))))
	}
	r := &Rota{Anchor: anchor, Members: map[incident.Role][]string{}, Offset: map[incident.Role]int{}}
	for _, role := range incident.Roles {
		n := rng.IntN(6)
		perm := rng.Perm(len(people))
		for _, i := range perm[:min(n, len(people))] {
			r.Members[role] = append(r.Members[role], people[i])
		}
		if n > 0 {
			r.Offset[role] = rng.IntN(7) - 3
		}
	}
	for range rng.IntN(4) {
		from, to := period()
		who := "ext"
		if rng.IntN(3) > 0 {
			who = people[rng.IntN(len(people))]
		}
		r.Overrides = append(r.Overrides, Override{Role: incident.Roles[rng.IntN(5)], UserID: who, From: from, To: to})
	}
	for range rng.IntN(6) {
		from, to := period()
		r.Away = append(r.Away, Away{UserID: people[rng.IntN(len(people))], From: from, To: to})
	}
	for range rng.IntN(8) {
		role := incident.Roles[rng.IntN(5)]
		sw := Swap{Role: role, A: people[rng.IntN(len(people))], B: people[rng.IntN(len(people))], Week: instant()}
		if ms := r.Members[role]; len(ms) > 0 && rng.IntN(4) > 0 {
			k, _, _ := WeekOf(s, anchor, sw.Week)
			sw.A = ms[r.basePos(role, k)] // usually a valid swap; otherwise AddSwap must refuse it
		}
		_ = r.AddSwap(sw, s, anchor.Add(-3*7*24*time.Hour))
	}

	var p Policy
	if rng.IntN(2) == 0 {
		p.Priority = slices.Clone(incident.Roles)
		rng.Shuffle(len(p.Priority), func(i, j int) { p.Priority[i], p.Priority[j] = p.Priority[j], p.Priority[i] })
	}
	allowed := [][2]incident.Role{{l1, l2}, {l2, l3}, {l1, l3}, {im, rm}, {l1, rm}, {l2, rm}, {l3, rm}}
	for _, pair := range allowed {
		if rng.IntN(4) == 0 {
			p.Combinable = append(p.Combinable, pair)
		}
	}
	return r, p, instant()
}

// TestAssignProperties checks, for many random rotas and instants, what
// must hold whatever the input:
//
//   - nobody holds two roles unless the policy lets them combine;
//   - every holder is eligible: the override holder in effect, or a member
//     of that role's rota who is not away;
//   - a role is open only if no member of its rota is free (not away and
//     holding nothing): substitution never gives up while someone could
//     take the role;
//   - the top-priority role with a duty goes to its on-duty person;
//   - the substitutions agree with the holders;
//   - the result is deterministic: the same inputs, the rota rebuilt with
//     maps filled in another order, or stored and reloaded give the same
//     staffing.
func TestAssignProperties(t *testing.T) {
	schedules := []Schedule{mon, weekly{time.Sunday, 2, 30, newYork, true}, every{a0, 5 * 24 * time.Hour}}
	seeds := []uint64{1, 2, 3, 5, 8, 13, 21, 34, 55, 89}
	iterations := 400
	if testing.Short() {
		iterations = 50
	}
	for _, seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		for i := range iterations {
			s := schedules[i%len(schedules)]
			r, p, at := randomCase(rng, s)
			if err := r.Validate(); err != nil {
				t.Fatalf("seed %d case %d: generated an invalid rota: %v", seed, i, err)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("seed %d case %d: generated an invalid policy: %v", seed, i, err)
			}
			st := r.Assign(s, at, p)
			fail := func(format string, args ...any) {
				t.Helper()
				raw, _ := json.Marshal(r)
				t.Fatalf("seed %d case %d at %v: %s\nrota %s\npolicy %+v\nstaffing %+v",
					seed, i, at, fmt.Sprintf(format, args...), raw, p, st)
			}
			checkStaffing(r, p, s, at, st, fail)

			if again := r.Assign(s, at, p); !reflect.DeepEqual(st, again) {
				fail("a second run differs: %+v", again)
			}
			if other := rebuilt(r).Assign(s, at, p); !reflect.DeepEqual(st, other) {
				fail("the rota rebuilt in another map order differs: %+v", other)
			}
			raw, err := json.Marshal(r)
			if err != nil {
				fail("marshal: %v", err)
			}
			var back Rota
			if err := json.Unmarshal(raw, &back); err != nil {
				fail("unmarshal: %v", err)
			}
			if got := back.Assign(s, at, p); !reflect.DeepEqual(st.Holders, got.Holders) || !reflect.DeepEqual(st.Open, got.Open) {
				fail("the stored and reloaded rota differs: %+v", got)
			}
		}
	}
}

func checkStaffing(r *Rota, p Policy, s Schedule, at time.Time, st Staffing, fail func(string, ...any)) {
	held := map[string][]incident.Role{}
	for _, role := range p.order() {
		if u, ok := st.Holders[role]; ok {
			held[u] = append(held[u], role)
		}
	}
	for u, roles := range held {
		for i, a := range roles {
			for _, b := range roles[i+1:] {
				if !p.CanCombine(a, b) {
					fail("%s holds %s and %s, which the policy does not combine", u, a, b)
				}
			}
		}
	}
	for role, u := range st.Holders {
		if o, ok := r.override(role, at); ok && o.UserID == u {
			continue
		}
		if !slices.Contains(r.Members[role], u) {
			fail("%s holds %s without being in its rota or overriding it", u, role)
		}
		if r.isAway(u, at) {
			fail("%s holds %s while away", u, role)
		}
	}
	if len(st.Holders)+len(st.Open) != len(incident.Roles) {
		fail("holders %v and open %v do not cover the five roles", st.Holders, st.Open)
	}
	for _, role := range st.Open {
		if _, ok := st.Holders[role]; ok {
			fail("%s is both open and held", role)
		}
		for _, m := range r.Members[role] {
			if !r.isAway(m, at) && len(held[m]) == 0 {
				fail("%s is open although %s, in its rota, is free", role, m)
			}
		}
	}
	duties := r.OnDuty(s, at)
	if !reflect.DeepEqual(duties, st.Duties) {
		fail("Duties %v differ from OnDuty %v", st.Duties, duties)
	}
	for _, role := range p.order() {
		if d, ok := duties[role]; ok {
			if st.Holders[role] != d.UserID {
				fail("the top role with a duty, %s, went to %s instead of %s", role, st.Holders[role], d.UserID)
			}
			break
		}
	}
	for _, sub := range st.Substitutions {
		switch sub.Reason {
		case ReasonDoubleDuty:
			if st.Holders[sub.Role] != sub.UserID {
				fail("substitution %+v disagrees with holder %q", sub, st.Holders[sub.Role])
			}
			if !slices.Contains(held[sub.Scheduled], sub.Kept) {
				fail("substitution %+v: %s does not hold %s", sub, sub.Scheduled, sub.Kept)
			}
		case ReasonAway:
			if !r.isAway(sub.Scheduled, at) {
				fail("substitution %+v: %s is not away", sub, sub.Scheduled)
			}
		default:
			fail("substitution with reason %q", sub.Reason)
		}
	}
}

// rebuilt copies r with every map filled in reverse role order, so that a
// dependence on map iteration order would show.
func rebuilt(r *Rota) *Rota {
	c := r.Clone()
	c.Members, c.Offset = map[incident.Role][]string{}, map[incident.Role]int{}
	for _, role := range slices.Backward(incident.Roles) {
		if ms, ok := r.Members[role]; ok {
			c.Members[role] = slices.Clone(ms)
		}
		if off, ok := r.Offset[role]; ok {
			c.Offset[role] = off
		}
	}
	return c
}

// TestOnDutyProperties checks the rota's answer per role on random rotas:
// a rota, swap or cover duty goes to a member who is not away, an override
// duty to the override holder in effect, and a role is missing only if no
// override applies and every member is away or the rota is empty.
func TestOnDutyProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	n := 2000
	if testing.Short() {
		n = 200
	}
	for i := range n {
		r, _, at := randomCase(rng, mon)
		duties := r.OnDuty(mon, at)
		for _, role := range incident.Roles {
			d, ok := duties[role]
			o, overridden := r.override(role, at)
			switch {
			case overridden:
				if d != (Duty{UserID: o.UserID, Source: SourceOverride}) {
					t.Fatalf("case %d %s: %+v, want the override %+v", i, role, d, o)
				}
			case !ok:
				for _, m := range r.Members[role] {
					if !r.isAway(m, at) {
						t.Fatalf("case %d %s: nobody on duty although %s is available", i, role, m)
					}
				}
			default:
				if !slices.Contains(r.Members[role], d.UserID) || r.isAway(d.UserID, at) {
					t.Fatalf("case %d %s: %+v is not an available member", i, role, d)
				}
				if d.Source == SourceCover && !r.isAway(d.For, at) {
					t.Fatalf("case %d %s: covers %s who is not away", i, role, d.For)
				}
			}
		}
	}
}

// TestPruneAndHandoffProperties checks the two edits that renumber weeks on
// random rotas: Prune changes nothing from its cut-off on, and SetHandoff
// keeps whoever is on duty at the moment of the change.
func TestPruneAndHandoffProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 19))
	schedules := []Schedule{mon, weekly{time.Wednesday, 10, 0, newYork, false}, every{a0.Add(5 * time.Hour), 6 * 24 * time.Hour}}
	n := 300
	if testing.Short() {
		n = 50
	}
	for i := range n {
		s := schedules[i%len(schedules)]
		r, _, cut := randomCase(rng, s)

		pruned := r.Clone()
		pruned.Prune(s, cut)
		for range 10 {
			at := cut.Add(time.Duration(rng.Int64N(int64(12 * 7 * 24 * time.Hour))))
			if a, b := r.OnDuty(s, at), pruned.OnDuty(s, at); !reflect.DeepEqual(a, b) {
				t.Fatalf("case %d: Prune(%v) changed duty at %v: %v before, %v after", i, cut, at, a, b)
			}
		}

		moved := r.Clone()
		next := schedules[(i+1)%len(schedules)]
		if _, err := moved.SetHandoff("next", s, next, cut); err != nil {
			t.Fatalf("case %d: SetHandoff: %v", i, err)
		}
		if a, b := r.OnDuty(s, cut), moved.OnDuty(next, cut); !reflect.DeepEqual(a, b) {
			t.Fatalf("case %d: SetHandoff at %v changed who is on duty: %v before, %v after", i, cut, a, b)
		}
	}
}

func TestEmptyListsFromStorage(t *testing.T) {
	// A stored rota may hold empty lists and no offsets; nothing may panic.
	r := &Rota{Anchor: a0, Members: map[incident.Role][]string{im: {}, l1: {"p"}}}
	if d := r.OnDuty(mon, in(3)); len(d) != 1 || d[l1].UserID != "p" {
		t.Errorf("OnDuty = %v", d)
	}
	_ = r.Conflicts(mon, in(3), Policy{})
	r.Prune(mon, in(5))
	if _, err := r.SetHandoff("x", mon, mon, in(6)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddMember(im, "a", mon, in(6)); err != nil {
		t.Fatal(err)
	}
	if st := r.Assign(mon, in(6), Policy{}); st.Holders[im] != "a" || st.Holders[l1] != "p" {
		t.Errorf("Assign = %v", st.Holders)
	}
}
