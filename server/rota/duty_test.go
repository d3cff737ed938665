package rota

import (
	"reflect"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestOnDutyRotation(t *testing.T) {
	r := newRota(map[incident.Role][]string{
		im: {"a", "b", "c"},
		l1: {"d"},
		l3: {"e", "f"},
	})
	cases := []struct {
		name string
		at   time.Time
		want map[incident.Role]string
	}{
		{"week 0 at the anchor", a0, map[incident.Role]string{im: "a", l1: "d", l3: "e"}},
		{"week 0 just before its end", week(1).Add(-time.Nanosecond), map[incident.Role]string{im: "a", l1: "d", l3: "e"}},
		{"week 1 at its handoff", week(1), map[incident.Role]string{im: "b", l1: "d", l3: "f"}},
		{"week 2", in(2), map[incident.Role]string{im: "c", l1: "d", l3: "e"}},
		{"week 3 wraps", in(3), map[incident.Role]string{im: "a", l1: "d", l3: "f"}},
		{"week 4 across spring DST", in(4), map[incident.Role]string{im: "b", l1: "d", l3: "e"}},
		{"week -1 just before the anchor", a0.Add(-time.Nanosecond), map[incident.Role]string{im: "c", l1: "d", l3: "f"}},
		{"week -4", in(-4), map[incident.Role]string{im: "c", l1: "d", l3: "e"}},
		{"week 34 after autumn DST", in(34), map[incident.Role]string{im: "b", l1: "d", l3: "e"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := r.OnDuty(mon, c.at)
			if len(got) != len(c.want) {
				t.Fatalf("OnDuty = %v, want %v (l2 and rm have empty rotas)", got, c.want)
			}
			for role, u := range c.want {
				if d := got[role]; d != (Duty{UserID: u, Source: SourceRota}) {
					t.Errorf("%s: %+v, want %s by rota", role, d, u)
				}
			}
		})
	}
}

func TestOnDutyEmptyAndUnanchored(t *testing.T) {
	if got := (&Rota{}).OnDuty(mon, in(0)); len(got) != 0 {
		t.Errorf("empty rota: %v", got)
	}
	var nilRota *Rota
	if got := nilRota.OnDuty(mon, in(0)); len(got) != 0 {
		t.Errorf("nil rota: %v", got)
	}
	// Without an anchor or a schedule there are no weeks: only overrides count.
	r := &Rota{Members: map[incident.Role][]string{im: {"a"}}}
	r.Overrides = []Override{{Role: l1, UserID: "z", From: in(0), To: in(1)}}
	for _, s := range []Schedule{mon, nil} {
		got := r.OnDuty(s, in(0))
		if want := map[incident.Role]Duty{l1: {UserID: "z", Source: SourceOverride}}; !reflect.DeepEqual(got, want) {
			t.Errorf("unanchored rota: %v, want %v", got, want)
		}
	}
}

func TestOnDutyOnePerson(t *testing.T) {
	r := newRota(map[incident.Role][]string{l2: {"solo"}})
	for k := -5; k <= 60; k += 5 {
		if d := r.OnDuty(mon, in(k))[l2]; d.UserID != "solo" {
			t.Fatalf("week %d: %+v", k, d)
		}
	}
	r.Away = []Away{{UserID: "solo", From: in(2), To: in(3)}}
	if d, ok := r.OnDuty(mon, in(2))[l2]; ok {
		t.Errorf("solo away: %+v, want nobody on duty", d)
	}
	st := r.Assign(mon, in(2), Policy{})
	want := []Substitution{{At: in(2), Role: l2, Scheduled: "solo", Reason: ReasonAway}}
	if !reflect.DeepEqual(st.Open, incident.Roles) || !reflect.DeepEqual(st.Substitutions, want) {
		t.Errorf("staffing with solo away: open %v, substitutions %+v", st.Open, st.Substitutions)
	}
	if got := want[0].Text(names); got != "@solo is away; nobody else in the Second line rota is available, so Second line stays open" {
		t.Errorf("text: %q", got)
	}
}

// TestPrecedence walks one role through every layer: rotation, swap, away
// and override, in the order the package documentation gives.
func TestPrecedence(t *testing.T) {
	base := func() *Rota { return newRota(map[incident.Role][]string{im: {"a", "b", "c"}}) }
	swapBC := Swap{Role: im, A: "b", B: "c", Week: week(1)} // b's week 1 <-> c's week 2
	cases := []struct {
		name string
		edit func(r *Rota)
		at   time.Time
		want Duty
		none bool // nobody on duty
	}{
		{"rotation", func(*Rota) {}, in(1), Duty{UserID: "b", Source: SourceRota}, false},
		{"swap gives B the week", func(r *Rota) { r.Swaps = []Swap{swapBC} }, in(1), Duty{UserID: "c", Source: SourceSwap, For: "b"}, false},
		{"swap gives A B's next week", func(r *Rota) { r.Swaps = []Swap{swapBC} }, in(2), Duty{UserID: "b", Source: SourceSwap, For: "c"}, false},
		{"swap leaves other weeks", func(r *Rota) { r.Swaps = []Swap{swapBC} }, in(3), Duty{UserID: "a", Source: SourceRota}, false},
		{"swap leaves later weeks", func(r *Rota) { r.Swaps = []Swap{swapBC} }, in(5), Duty{UserID: "c", Source: SourceRota}, false},
		{"swap with a later member: B's next week two on", func(r *Rota) { r.Swaps = []Swap{{Role: im, A: "b", B: "a", Week: week(1)}} }, in(3), Duty{UserID: "b", Source: SourceSwap, For: "a"}, false},
		{"swap with a later member: the week between", func(r *Rota) { r.Swaps = []Swap{{Role: im, A: "b", B: "a", Week: week(1)}} }, in(2), Duty{UserID: "c", Source: SourceRota}, false},
		{"swap in negative weeks", func(r *Rota) { r.Swaps = []Swap{{Role: im, A: "c", B: "a", Week: week(-1)}} }, in(0), Duty{UserID: "c", Source: SourceSwap, For: "a"}, false},
		{"away is covered by the next member", func(r *Rota) { r.Away = []Away{{UserID: "b", From: in(1), To: in(1).Add(time.Hour)}} }, in(1), Duty{UserID: "c", Source: SourceCover, For: "b"}, false},
		{"away ends: half-open", func(r *Rota) { r.Away = []Away{{UserID: "b", From: in(1), To: in(1).Add(time.Hour)}} }, in(1).Add(time.Hour), Duty{UserID: "b", Source: SourceRota}, false},
		{"cover wraps cyclically", func(r *Rota) { r.Away = []Away{{UserID: "c", From: in(2), To: in(3)}} }, in(2), Duty{UserID: "a", Source: SourceCover, For: "c"}, false},
		{"cover skips away members", func(r *Rota) {
			r.Away = []Away{{UserID: "c", From: in(2), To: in(3)}, {UserID: "a", From: in(0), To: in(9)}}
		}, in(2), Duty{UserID: "b", Source: SourceCover, For: "c"}, false},
		{"everyone away: nobody", func(r *Rota) {
			r.Away = []Away{{UserID: "a", From: in(0), To: in(9)}, {UserID: "b", From: in(0), To: in(9)}, {UserID: "c", From: in(0), To: in(9)}}
		}, in(1), Duty{}, true},
		{"away applies to the swap result", func(r *Rota) {
			r.Swaps = []Swap{swapBC}
			r.Away = []Away{{UserID: "c", From: in(1), To: in(1).Add(time.Hour)}}
		}, in(1), Duty{UserID: "a", Source: SourceCover, For: "c"}, false},
		{"away of the swapped-out member does not matter", func(r *Rota) {
			r.Swaps = []Swap{swapBC}
			r.Away = []Away{{UserID: "b", From: in(1), To: in(1).Add(time.Hour)}}
		}, in(1), Duty{UserID: "c", Source: SourceSwap, For: "b"}, false},
		{"override beats swap", func(r *Rota) {
			r.Swaps = []Swap{swapBC}
			r.Overrides = []Override{{Role: im, UserID: "z", From: week(1), To: week(2)}}
		}, in(1), Duty{UserID: "z", Source: SourceOverride}, false},
		{"override of an away person stands", func(r *Rota) {
			r.Overrides = []Override{{Role: im, UserID: "b", From: week(2), To: week(3)}}
			r.Away = []Away{{UserID: "b", From: week(2), To: week(3)}}
		}, in(2), Duty{UserID: "b", Source: SourceOverride}, false},
		{"override before its start", func(r *Rota) {
			r.Overrides = []Override{{Role: im, UserID: "z", From: in(1), To: in(1).Add(time.Hour)}}
		}, in(1).Add(-time.Nanosecond), Duty{UserID: "b", Source: SourceRota}, false},
		{"override at its end: half-open", func(r *Rota) {
			r.Overrides = []Override{{Role: im, UserID: "z", From: in(1), To: in(1).Add(time.Hour)}}
		}, in(1).Add(time.Hour), Duty{UserID: "b", Source: SourceRota}, false},
		{"later override wins", func(r *Rota) {
			r.Overrides = []Override{{Role: im, UserID: "y", From: week(1), To: week(2)}, {Role: im, UserID: "z", From: in(1), To: in(1).Add(time.Hour)}}
		}, in(1), Duty{UserID: "z", Source: SourceOverride}, false},
		{"override of another role does not apply", func(r *Rota) { r.Overrides = []Override{{Role: l1, UserID: "z", From: week(1), To: week(2)}} }, in(1), Duty{UserID: "b", Source: SourceRota}, false},
		{"swap with a removed member is void", func(r *Rota) { r.Swaps = []Swap{{Role: im, A: "b", B: "gone", Week: week(1)}} }, in(1), Duty{UserID: "b", Source: SourceRota}, false},
		{"swap whose A is no longer on duty is void", func(r *Rota) { r.Swaps = []Swap{{Role: im, A: "a", B: "c", Week: week(1)}} }, in(1), Duty{UserID: "b", Source: SourceRota}, false},
		{"colliding swaps: the first added wins", func(r *Rota) {
			r.Swaps = []Swap{swapBC, {Role: im, A: "c", B: "a", Week: week(2)}}
		}, in(2), Duty{UserID: "b", Source: SourceSwap, For: "c"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := base()
			c.edit(r)
			d, ok := r.OnDuty(mon, c.at)[im]
			if ok == c.none || d != c.want {
				t.Errorf("OnDuty[im] = %+v (present %v), want %+v", d, ok, c.want)
			}
		})
	}
}

func TestSwapWeeks(t *testing.T) {
	r := newRota(map[incident.Role][]string{im: {"a", "b", "c"}})
	w, w2, ok := r.SwapWeeks(mon, Swap{Role: im, A: "b", B: "a", Week: week(1)})
	if !ok || !w.Equal(week(1)) || !w2.Equal(week(3)) {
		t.Errorf("SwapWeeks = %v %v %v, want weeks 1 and 3", w, w2, ok)
	}
	w, w2, ok = r.SwapWeeks(mon, Swap{Role: im, A: "c", B: "b", Week: week(-1)})
	if !ok || !w.Equal(week(-1)) || !w2.Equal(week(1)) {
		t.Errorf("SwapWeeks across the anchor = %v %v %v, want weeks -1 and 1", w, w2, ok)
	}
	if _, _, ok := r.SwapWeeks(mon, Swap{Role: im, A: "a", B: "b", Week: week(1)}); ok {
		t.Error("SwapWeeks of a swap whose A is not on duty reported ok")
	}
}
