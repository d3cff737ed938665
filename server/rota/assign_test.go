package rota

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestAssign(t *testing.T) {
	at := in(0)
	type want struct {
		holders map[incident.Role]string
		subs    []Substitution
		open    []incident.Role
	}
	cases := []struct {
		name    string
		members map[incident.Role][]string
		edit    func(r *Rota)
		policy  Policy
		want    want
	}{
		{
			name:    "five people, five roles",
			members: map[incident.Role][]string{im: {"i"}, l1: {"p"}, l2: {"q"}, l3: {"s"}, rm: {"u"}},
			want:    want{holders: map[incident.Role]string{im: "i", l1: "p", l2: "q", l3: "s", rm: "u"}},
		},
		{
			name:    "double duty: keeps the higher role, the other goes to the next in its rota",
			members: map[incident.Role][]string{im: {"bob", "x"}, l2: {"bob", "carol", "dave"}},
			want: want{
				holders: map[incident.Role]string{im: "bob", l2: "carol"},
				subs:    []Substitution{{At: at, Role: l2, Scheduled: "bob", UserID: "carol", Reason: ReasonDoubleDuty, Kept: im}},
				open:    []incident.Role{l1, l3, rm},
			},
		},
		{
			name:    "no cascade: a substitute is never someone else's on-duty member",
			members: map[incident.Role][]string{im: {"bob"}, l2: {"bob", "carol", "dave"}, l3: {"carol"}},
			want: want{
				holders: map[incident.Role]string{im: "bob", l2: "dave", l3: "carol"},
				subs:    []Substitution{{At: at, Role: l2, Scheduled: "bob", UserID: "dave", Reason: ReasonDoubleDuty, Kept: im}},
				open:    []incident.Role{l1, rm},
			},
		},
		{
			name:    "the substitute search skips away members and wraps",
			members: map[incident.Role][]string{im: {"bob"}, l2: {"carol", "bob", "dave"}},
			edit: func(r *Rota) {
				r.Offset = map[incident.Role]int{l2: -1}
				r.Away = []Away{{UserID: "dave", From: in(0), To: in(1)}}
			},
			want: want{
				holders: map[incident.Role]string{im: "bob", l2: "carol"},
				subs:    []Substitution{{At: at, Role: l2, Scheduled: "bob", UserID: "carol", Reason: ReasonDoubleDuty, Kept: im}},
				open:    []incident.Role{l1, l3, rm},
			},
		},
		{
			name:    "nobody eligible: the role stays open",
			members: map[incident.Role][]string{im: {"bob"}, l2: {"bob"}},
			want: want{
				holders: map[incident.Role]string{im: "bob"},
				subs:    []Substitution{{At: at, Role: l2, Scheduled: "bob", Reason: ReasonDoubleDuty, Kept: im}},
				open:    []incident.Role{l1, l2, l3, rm},
			},
		},
		{
			name:    "a combinable pair stays with one person",
			members: map[incident.Role][]string{l2: {"bob"}, l3: {"bob", "x"}},
			policy:  Policy{Combinable: [][2]incident.Role{{l3, l2}}},
			want:    want{holders: map[incident.Role]string{l2: "bob", l3: "bob"}, open: []incident.Role{im, l1, rm}},
		},
		{
			name:    "a third role must combine with every role held",
			members: map[incident.Role][]string{l2: {"bob"}, l3: {"bob"}, rm: {"bob", "rita"}},
			policy:  Policy{Combinable: [][2]incident.Role{{l2, l3}, {l3, rm}}},
			want: want{
				holders: map[incident.Role]string{l2: "bob", l3: "bob", rm: "rita"},
				subs:    []Substitution{{At: at, Role: rm, Scheduled: "bob", UserID: "rita", Reason: ReasonDoubleDuty, Kept: l2}},
				open:    []incident.Role{im, l1},
			},
		},
		{
			name:    "IM with a line role is never combined, even by an unvalidated policy",
			members: map[incident.Role][]string{im: {"bob"}, l1: {"bob", "x"}},
			policy:  Policy{Combinable: [][2]incident.Role{{im, l1}}},
			want: want{
				holders: map[incident.Role]string{im: "bob", l1: "x"},
				subs:    []Substitution{{At: at, Role: l1, Scheduled: "bob", UserID: "x", Reason: ReasonDoubleDuty, Kept: im}},
				open:    []incident.Role{l2, l3, rm},
			},
		},
		{
			name:    "IM with RM can be combined",
			members: map[incident.Role][]string{im: {"bob"}, rm: {"bob", "x"}},
			policy:  Policy{Combinable: [][2]incident.Role{{rm, im}}},
			want:    want{holders: map[incident.Role]string{im: "bob", rm: "bob"}, open: []incident.Role{l1, l2, l3}},
		},
		{
			name:    "a custom priority decides which role is kept",
			members: map[incident.Role][]string{im: {"bob", "ian"}, rm: {"bob"}},
			policy:  Policy{Priority: []incident.Role{rm, im, l1, l2, l3}},
			want: want{
				holders: map[incident.Role]string{im: "ian", rm: "bob"},
				subs:    []Substitution{{At: at, Role: im, Scheduled: "bob", UserID: "ian", Reason: ReasonDoubleDuty, Kept: rm}},
				open:    []incident.Role{l1, l2, l3},
			},
		},
		{
			name:    "an override holder is bound by exclusivity too; the week's scheduled member comes first",
			members: map[incident.Role][]string{im: {"bob"}, l1: {"x", "y", "z"}},
			edit: func(r *Rota) {
				r.Overrides = []Override{{Role: l1, UserID: "bob", From: week(0), To: week(1)}}
			},
			want: want{
				holders: map[incident.Role]string{im: "bob", l1: "x"},
				subs:    []Substitution{{At: at, Role: l1, Scheduled: "bob", UserID: "x", Reason: ReasonDoubleDuty, Kept: im}},
				open:    []incident.Role{l2, l3, rm},
			},
		},
		{
			name:    "away cover, then double duty of the cover",
			members: map[incident.Role][]string{im: {"carol"}, l2: {"bob", "carol", "dave"}},
			edit:    func(r *Rota) { r.Away = []Away{{UserID: "bob", From: week(0), To: week(1)}} },
			want: want{
				holders: map[incident.Role]string{im: "carol", l2: "dave"},
				subs: []Substitution{
					{At: at, Role: l2, Scheduled: "bob", UserID: "carol", Reason: ReasonAway},
					{At: at, Role: l2, Scheduled: "carol", UserID: "dave", Reason: ReasonDoubleDuty, Kept: im},
				},
				open: []incident.Role{l1, l3, rm},
			},
		},
		{
			name:    "an empty rota leaves every role open",
			members: nil,
			want:    want{holders: map[incident.Role]string{}, open: incident.Roles},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRota(c.members)
			if c.edit != nil {
				c.edit(r)
			}
			st := r.Assign(mon, at, c.policy)
			if !reflect.DeepEqual(st.Holders, c.want.holders) {
				t.Errorf("holders = %v, want %v", st.Holders, c.want.holders)
			}
			if !reflect.DeepEqual(st.Substitutions, c.want.subs) {
				t.Errorf("substitutions = %+v, want %+v", st.Substitutions, c.want.subs)
			}
			if !reflect.DeepEqual(st.Open, c.want.open) {
				t.Errorf("open = %v, want %v", st.Open, c.want.open)
			}
			if !st.At.Equal(at) {
				t.Errorf("At = %v", st.At)
			}
		})
	}
}

func TestAssignDutiesAndWarnings(t *testing.T) {
	r := newRota(map[incident.Role][]string{im: {"a"}, l2: {"b", "c"}})
	r.Overrides = []Override{{Role: l2, UserID: "b", From: week(0), To: week(1), By: "admin"}}
	r.Away = []Away{{UserID: "b", From: in(0), To: in(0).Add(time.Hour)}}
	st := r.Assign(mon, in(0), Policy{})
	if st.Holders[l2] != "b" || st.Duties[l2] != (Duty{UserID: "b", Source: SourceOverride}) || st.Duties[im].Source != SourceRota {
		t.Fatalf("override of an away person must stand: %+v", st)
	}
	want := []Warning{{Override: r.Overrides[0], Away: r.Away[0], From: in(0), To: in(0).Add(time.Hour)}}
	if !reflect.DeepEqual(st.Warnings, want) {
		t.Fatalf("warnings = %+v, want %+v", st.Warnings, want)
	}
	if got := want[0].Text(names); !strings.HasPrefix(got, "@b is away from 2026-03-04 11:00 UTC to 2026-03-04 12:00 UTC but covers Second line by override then; the override stands") {
		t.Errorf("warning text: %q", got)
	}
	if st := r.Assign(mon, in(0).Add(time.Hour), Policy{}); len(st.Warnings) != 0 {
		t.Errorf("warning after the away period: %+v", st.Warnings)
	}
}

func TestSubstitutionText(t *testing.T) {
	cases := []struct {
		s    Substitution
		want string
	}{
		{Substitution{Role: l2, Scheduled: "bob", UserID: "carol", Reason: ReasonDoubleDuty, Kept: im},
			"@bob is on duty for both Incident manager and Second line; keeps Incident manager; Second line goes to @carol, next available in the Second line rota"},
		{Substitution{Role: l2, Scheduled: "bob", Reason: ReasonDoubleDuty, Kept: im},
			"@bob is on duty for both Incident manager and Second line; keeps Incident manager; nobody else in the Second line rota is available, so Second line stays open"},
		{Substitution{Role: rm, Scheduled: "bob", UserID: "carol", Reason: ReasonAway},
			"@bob is away; Release manager goes to @carol, next available in the Release manager rota"},
	}
	for _, c := range cases {
		if got := c.s.Text(names); got != c.want {
			t.Errorf("Text = %q\nwant   %q", got, c.want)
		}
	}
	if got := cases[2].s.String(); got != "<@bob> is away; Release manager goes to <@carol>, next available in the Release manager rota" {
		t.Errorf("String = %q", got)
	}
}

func TestRenderUsers(t *testing.T) {
	cases := map[string]string{
		"":                "",
		"no refs":         "no refs",
		"<@a> and <@b>.":  "@a and @b.",
		"a <@> b":         "a <@> b",
		"x <@a b> <@c>":   "x <@a b> @c",
		"unclosed <@a":    "unclosed <@a",
		"<@<@a>>":         "<@@a>",
		"5 <@ 6 <@id>":    "5 <@ 6 @id",
		"emoji ☕ <@u1> ☕": "emoji ☕ @u1 ☕",
	}
	for in, want := range cases {
		if got := RenderUsers(in, names); got != want {
			t.Errorf("RenderUsers(%q) = %q, want %q", in, got, want)
		}
	}
	if got := RenderUsers("<@a>", nil); got != "<@a>" {
		t.Errorf("nil name: %q", got)
	}
}

func TestConflicts(t *testing.T) {
	r := newRota(map[incident.Role][]string{im: {"alice"}, l2: {"bob", "carol", "dave"}})
	wed, thu, fri := week(0).Add(48*time.Hour), week(0).Add(72*time.Hour), week(0).Add(96*time.Hour)
	r.Overrides = []Override{
		{Role: im, UserID: "bob", From: wed, To: thu},                // bob IM midweek: L2 goes to carol
		{Role: im, UserID: "zed", From: week(1), To: week(1).Add(1)}, // next week: not in this one
	}
	r.Away = []Away{
		{UserID: "bob", From: fri, To: week(4)},       // from Friday bob is away: carol covers L2
		{UserID: "carol", From: week(-3), To: in(-3)}, // long ago
	}
	got := r.Conflicts(mon, in(0), Policy{})
	want := []Substitution{
		{At: wed, Role: l2, Scheduled: "bob", UserID: "carol", Reason: ReasonDoubleDuty, Kept: im},
		{At: fri, Role: l2, Scheduled: "bob", UserID: "carol", Reason: ReasonAway},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Conflicts = %+v\nwant %+v", got, want)
	}
	// The week is the one containing the instant given, whatever it is.
	if again := r.Conflicts(mon, week(1).Add(-time.Nanosecond), Policy{}); !reflect.DeepEqual(again, want) {
		t.Errorf("Conflicts from the week's last instant = %+v", again)
	}
	if next := r.Conflicts(mon, in(1), Policy{}); len(next) != 0 {
		t.Errorf("week 1 is carol's; bob's absence does not matter: %+v", next)
	}
	if later := r.Conflicts(mon, in(3), Policy{}); len(later) != 1 || later[0].Reason != ReasonAway || !later[0].At.Equal(week(3)) {
		t.Errorf("week 3, bob's again and he is still away: %+v", later)
	}
	if none := newRota(map[incident.Role][]string{im: {"alice"}}).Conflicts(mon, in(0), Policy{}); len(none) != 0 {
		t.Errorf("no conflicts expected: %+v", none)
	}
	// Without weeks, the 7 days from the instant given are examined.
	bare := &Rota{Overrides: []Override{{Role: im, UserID: "x", From: in(0), To: in(1)}, {Role: l1, UserID: "x", From: in(0).Add(time.Hour), To: in(1)}}}
	if got := bare.Conflicts(nil, in(0), Policy{}); len(got) != 1 || got[0].Role != l1 || got[0].UserID != "" || !got[0].At.Equal(in(0).Add(time.Hour)) {
		t.Errorf("unanchored conflicts: %+v", got)
	}
}

func TestPolicyValidate(t *testing.T) {
	valid := []Policy{
		{},
		{Priority: []incident.Role{rm, l3, l2, l1, im}},
		{Combinable: [][2]incident.Role{{l2, l3}, {im, rm}, {l1, rm}}},
	}
	for _, p := range valid {
		if err := p.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", p, err)
		}
	}
	invalid := map[string]struct {
		p    Policy
		want string
	}{
		"unknown priority role":  {Policy{Priority: []incident.Role{im, l1, l2, l3, "boss"}}, `unknown role "boss"`},
		"repeated priority role": {Policy{Priority: []incident.Role{im, l1, l2, l3, l3}}, "names l3 twice"},
		"short priority":         {Policy{Priority: []incident.Role{im, l1, l2, l3}}, "leaves out rm"},
		"unknown pair role":      {Policy{Combinable: [][2]incident.Role{{l2, "boss"}}}, `unknown role "boss"`},
		"pair with itself":       {Policy{Combinable: [][2]incident.Role{{l2, l2}}}, "itself"},
		"IM with L1":             {Policy{Combinable: [][2]incident.Role{{im, l1}}}, "Incident manager cannot be combined with First line"},
		"L2 with IM":             {Policy{Combinable: [][2]incident.Role{{l2, im}}}, "Second line cannot be combined with Incident manager"},
		"IM with L3":             {Policy{Combinable: [][2]incident.Role{{l3, rm}, {im, l3}}}, "cannot be combined"},
	}
	for name, c := range invalid {
		t.Run(name, func(t *testing.T) {
			err := c.p.Validate()
			if !isInvalid(err) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate = %v, want an invalid error containing %q", err, c.want)
			}
		})
	}
}

func TestPolicyOrderIsRobust(t *testing.T) {
	p := Policy{Priority: []incident.Role{l3, "boss", l3, im}}
	if got, want := p.order(), []incident.Role{l3, im, l1, l2, rm}; !reflect.DeepEqual(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	if got := (Policy{}).order(); !reflect.DeepEqual(got, incident.Roles) {
		t.Errorf("default order = %v", got)
	}
}

func TestNextEligible(t *testing.T) {
	r := newRota(map[incident.Role][]string{rm: {"ann", "bob", "cat", "dan"}})
	onDuty := r.OnDuty(mon, in(1))[rm].UserID
	if onDuty != "bob" {
		t.Fatalf("setup: week 1 rm on duty = %q, want bob", onDuty)
	}
	none := func(string) bool { return false }
	if got, ok := r.NextEligible(mon, in(1), rm, none); !ok || got != "cat" {
		t.Errorf("next after the member on duty = %q %v, want cat", got, ok)
	}
	r.Away = []Away{{UserID: "cat", From: in(1), To: in(2)}}
	notDan := func(u string) bool { return u == "dan" }
	if got, ok := r.NextEligible(mon, in(1), rm, notDan); !ok || got != "ann" {
		t.Errorf("skipping away and excluded members, wrapping = %q %v, want ann", got, ok)
	}
	all := func(string) bool { return true }
	if got, ok := r.NextEligible(mon, in(1), rm, all); ok {
		t.Errorf("everyone excluded: got %q", got)
	}
	if got, ok := newRota(nil).NextEligible(mon, in(1), rm, none); ok {
		t.Errorf("empty rota: got %q", got)
	}
}
