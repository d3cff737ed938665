package hotfix

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// wantKind fails t unless err is a domain error of kind want whose message
// contains every one of subs.
func wantKind(t *testing.T, err error, want incident.Kind, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want a %v error", want)
	}
	if got := incident.KindOf(err); got != want {
		t.Fatalf("kind = %v, want %v (err: %v)", got, want, err)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

// groupsOf builds a Groups from name → members, failing t on error.
func groupsOf(t *testing.T, def map[string][]string) *Groups {
	t.Helper()
	g := &Groups{}
	for name, ms := range def {
		if err := g.Set(name, ms); err != nil {
			t.Fatalf("Set(%q, %v): %v", name, ms, err)
		}
	}
	return g
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func TestParseGroupName(t *testing.T) {
	cases := []struct {
		in, want string
		bad      bool
	}{
		{in: "qa", want: "qa"},
		{in: "QA", want: "qa"},
		{in: "  Product-Owners  ", want: "product-owners"},
		{in: "team_2", want: "team_2"},
		{in: "2nd-line", want: "2nd-line"},
		{in: "a", want: "a"},
		{in: strings.Repeat("x", 32), want: strings.Repeat("x", 32)},
		{in: strings.Repeat("X", 32), want: strings.Repeat("x", 32)},
		{in: strings.Repeat("x", 33), bad: true},
		{in: "", bad: true},
		{in: "   ", bad: true},
		{in: "-qa", bad: true},
		{in: "_qa", bad: true},
		{in: "q a", bad: true},
		{in: "qa,support", bad: true},
		{in: "qa!", bad: true},
		{in: "qa.team", bad: true},
		{in: "@qa", bad: true},
		{in: "qä", bad: true},
		{in: "q\ta", bad: true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseGroupName(c.in)
			if c.bad {
				wantKind(t, err, incident.KindInvalid)
				if got != "" {
					t.Errorf("got %q with an error, want \"\"", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseGroupName(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestParseGroupNameMessages(t *testing.T) {
	_, err := ParseGroupName(strings.Repeat("x", 33))
	wantKind(t, err, incident.KindInvalid, "too long", "32")
	_, err = ParseGroupName("-qa")
	wantKind(t, err, incident.KindInvalid, `"-qa"`, "starting with a letter or digit")
	_, err = ParseGroupName("")
	wantKind(t, err, incident.KindInvalid, "name the group")
}

func TestParseGroupList(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
		bad      bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "blank", in: " , ,\t\n", want: nil},
		{name: "one", in: "qa", want: []string{"qa"}},
		{name: "commas", in: "qa,support", want: []string{"qa", "support"}},
		{name: "spaces", in: "qa support", want: []string{"qa", "support"}},
		{name: "mixed", in: " QA, support\tproduct\nops ,, ", want: []string{"qa", "support", "product", "ops"}},
		{name: "keeps order", in: "support,qa", want: []string{"support", "qa"}},
		{name: "dedupe case-folded", in: "qa,QA, qa support,Qa", want: []string{"qa", "support"}},
		{name: "at limit", in: strings.Join(ids("g", MaxRequired), ","), want: ids("g", MaxRequired)},
		{name: "duplicates do not count to the limit", in: strings.Join(append(ids("g", MaxRequired), "g0", "G1"), ","), want: ids("g", MaxRequired)},
		{name: "over limit", in: strings.Join(ids("g", MaxRequired+1), " "), bad: true},
		{name: "bad name", in: "qa,-support", bad: true},
		{name: "bad character", in: "qa;support", bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseGroupList(c.in)
			if c.bad {
				wantKind(t, err, incident.KindInvalid)
				if got != nil {
					t.Errorf("got %v with an error, want nil", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ParseGroupList(%q) = %#v, %v; want %#v", c.in, got, err, c.want)
			}
		})
	}
	_, err := ParseGroupList(strings.Join(ids("g", MaxRequired+1), ","))
	wantKind(t, err, incident.KindInvalid, fmt.Sprint(MaxRequired+1), fmt.Sprint(MaxRequired))
}

func TestGroupsSet(t *testing.T) {
	cases := []struct {
		name    string
		group   string
		members []string
		want    []string // nil: an error
		msg     []string
	}{
		{name: "plain", group: "qa", members: []string{"alice", "bob"}, want: []string{"alice", "bob"}},
		{name: "canonical name", group: " QA ", members: []string{"alice"}, want: []string{"alice"}},
		{name: "dedupe keeps first order", group: "qa", members: []string{"bob", "alice", "bob", "alice"}, want: []string{"bob", "alice"}},
		{name: "drops empty ids", group: "qa", members: []string{"", "alice", ""}, want: []string{"alice"}},
		{name: "no members", group: "qa", members: nil, msg: []string{"name the members of qa", "remove qa"}},
		{name: "only empty ids", group: "qa", members: []string{"", ""}, msg: []string{"name the members of qa"}},
		{name: "bad name", group: "q a", members: []string{"alice"}},
		{name: "member limit", group: "qa", members: ids("u", MaxGroupMembers), want: ids("u", MaxGroupMembers)},
		{name: "over member limit", group: "qa", members: ids("u", MaxGroupMembers+1), msg: []string{fmt.Sprint(MaxGroupMembers + 1), fmt.Sprint(MaxGroupMembers)}},
		{name: "duplicates do not count to the member limit", group: "qa", members: append(ids("u", MaxGroupMembers), "u0", "u1"), want: ids("u", MaxGroupMembers)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := &Groups{}
			err := g.Set(c.group, c.members)
			if c.want == nil {
				wantKind(t, err, incident.KindInvalid, c.msg...)
				if len(g.Members) != 0 {
					t.Errorf("a refused Set changed the groups: %v", g.Members)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			name, _ := ParseGroupName(c.group)
			if got := g.Members[name]; !reflect.DeepEqual(got, c.want) {
				t.Errorf("members of %s = %v, want %v", name, got, c.want)
			}
			if len(g.Members) != 1 {
				t.Errorf("groups = %v, want only %s", g.Members, name)
			}
		})
	}
}

func TestGroupsSetReplacesAndCopies(t *testing.T) {
	g := groupsOf(t, map[string][]string{"qa": {"alice", "bob"}})
	in := []string{"carol"}
	if err := g.Set("QA", in); err != nil {
		t.Fatal(err)
	}
	if got := g.Members["qa"]; !reflect.DeepEqual(got, []string{"carol"}) {
		t.Fatalf("after replacing, qa = %v, want [carol]", got)
	}
	if g.IsMember("qa", "alice") {
		t.Error("alice is still a member after the members were replaced")
	}
	in[0] = "mallory"
	if !g.IsMember("qa", "carol") || g.IsMember("qa", "mallory") {
		t.Errorf("Set keeps the caller's slice: qa = %v", g.Members["qa"])
	}
	// Refusing to empty a group keeps its members.
	wantKind(t, g.Set("qa", nil), incident.KindInvalid, "remove qa")
	if !g.IsMember("qa", "carol") {
		t.Errorf("a refused Set emptied qa: %v", g.Members["qa"])
	}
}

func TestGroupsSetGroupLimit(t *testing.T) {
	g := &Groups{}
	for _, name := range ids("g", MaxGroups) {
		if err := g.Set(name, []string{"alice"}); err != nil {
			t.Fatalf("Set(%s): %v", name, err)
		}
	}
	wantKind(t, g.Set("one-more", []string{"alice"}), incident.KindInvalid, "remove one first")
	if _, ok := g.Members["one-more"]; ok || len(g.Members) != MaxGroups {
		t.Fatalf("the group over the limit was added: %d groups", len(g.Members))
	}
	// Replacing the members of an existing group is fine at the limit.
	if err := g.Set("G3", []string{"bob"}); err != nil {
		t.Fatalf("replacing at the limit: %v", err)
	}
	if !g.IsMember("g3", "bob") || len(g.Members) != MaxGroups {
		t.Errorf("g3 = %v, %d groups", g.Members["g3"], len(g.Members))
	}
	// After a removal there is room again.
	if err := g.Remove("g0"); err != nil {
		t.Fatal(err)
	}
	if err := g.Set("one-more", []string{"alice"}); err != nil {
		t.Fatalf("after a removal: %v", err)
	}
}

func TestGroupsRemove(t *testing.T) {
	g := groupsOf(t, map[string][]string{"qa": {"alice"}, "support": {"bob"}})
	if err := g.Remove(" QA"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, ok := g.Members["qa"]; ok {
		t.Error("qa is still there")
	}
	if !g.IsMember("support", "bob") {
		t.Error("Remove(qa) touched support")
	}
	wantKind(t, g.Remove("qa"), incident.KindNotFound, "qa")
	wantKind(t, g.Remove("nope"), incident.KindNotFound, "nope")
	wantKind(t, g.Remove("-bad"), incident.KindInvalid)
	var zero Groups
	wantKind(t, zero.Remove("qa"), incident.KindNotFound)
}

func TestGroupsNamesAndIsMember(t *testing.T) {
	var zero Groups
	if n := zero.Names(); len(n) != 0 {
		t.Errorf("zero Groups names = %v", n)
	}
	if zero.IsMember("qa", "alice") {
		t.Error("zero Groups has a member")
	}
	g := groupsOf(t, map[string][]string{"support": {"bob"}, "qa": {"alice", "bob"}, "product": {"carol"}, "2nd": {"dave"}})
	if got, want := g.Names(), []string{"2nd", "product", "qa", "support"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	cases := []struct {
		group, user string
		want        bool
	}{
		{"qa", "alice", true},
		{"qa", "bob", true},
		{"support", "bob", true},
		{"support", "alice", false},
		{"nope", "alice", false},
		{"qa", "", false},
		{"QA", "alice", false}, // names are canonical: callers parse first
	}
	for _, c := range cases {
		if got := g.IsMember(c.group, c.user); got != c.want {
			t.Errorf("IsMember(%q, %q) = %v, want %v", c.group, c.user, got, c.want)
		}
	}
}

func TestCheckRequired(t *testing.T) {
	cases := []struct {
		name     string
		groups   map[string][]string
		required []string
		fixer    string
		author   string   // "": the fixer made it
		msg      []string // nil: no error
	}{
		{name: "nothing required", groups: map[string][]string{"qa": {"alice"}}, required: nil, fixer: "fixer",
			msg: []string{"no sign-off groups are required", "System Console"}},
		{name: "one group", groups: map[string][]string{"qa": {"alice"}}, required: []string{"qa"}, fixer: "fixer"},
		{name: "undefined group", groups: map[string][]string{"qa": {"alice"}}, required: []string{"qa", "support"}, fixer: "fixer",
			msg: []string{"support", "no members", "signoff-group set support"}},
		{name: "no groups at all", groups: nil, required: []string{"qa"}, fixer: "fixer",
			msg: []string{"qa", "no members"}},
		{name: "only the fixer", groups: map[string][]string{"qa": {"fixer"}, "support": {"bob"}}, required: []string{"qa", "support"}, fixer: "fixer",
			msg: []string{"qa has nobody but <@fixer>", "signoff-group set qa"}},
		{name: "same single person in two groups", groups: map[string][]string{"qa": {"alice"}, "support": {"alice"}}, required: []string{"qa", "support"}, fixer: "fixer",
			msg: []string{"qa, support", "support has nobody left"}},
		{name: "same single person, other order", groups: map[string][]string{"qa": {"alice"}, "support": {"alice"}}, required: []string{"support", "qa"}, fixer: "fixer",
			msg: []string{"qa has nobody left"}},
		{name: "augmenting path", groups: map[string][]string{"qa": {"alice", "bob"}, "support": {"alice"}}, required: []string{"qa", "support"}, fixer: "fixer"},
		{name: "augmenting path, other order", groups: map[string][]string{"qa": {"alice", "bob"}, "support": {"alice"}}, required: []string{"support", "qa"}, fixer: "fixer"},
		{name: "fixer excluded from matching", groups: map[string][]string{"qa": {"fixer", "bob"}, "support": {"bob"}}, required: []string{"qa", "support"}, fixer: "fixer",
			msg: []string{"support has nobody left"}},
		{name: "requester and author both excluded", groups: map[string][]string{"qa": {"fixer", "author"}, "support": {"bob"}}, required: []string{"qa", "support"}, fixer: "fixer", author: "author",
			msg: []string{"qa has nobody but <@fixer>, <@author>", "requested or made", "four eyes"}},
		{name: "author excluded from matching", groups: map[string][]string{"qa": {"author", "bob"}, "support": {"bob"}}, required: []string{"qa", "support"}, fixer: "fixer", author: "author",
			msg: []string{"support has nobody left"}},
		{name: "fixer is not the only member", groups: map[string][]string{"qa": {"fixer", "bob"}, "support": {"carol"}}, required: []string{"qa", "support"}, fixer: "fixer"},
		{name: "three groups, two people", groups: map[string][]string{"qa": {"a", "b"}, "support": {"a", "b"}, "product": {"a", "b"}}, required: []string{"qa", "support", "product"}, fixer: "fixer",
			msg: []string{"qa, support, product", "product has nobody left"}},
		{name: "chain needs two augmentations", groups: map[string][]string{"x": {"a", "b"}, "y": {"b", "c"}, "z": {"a"}}, required: []string{"x", "y", "z"}, fixer: "fixer"},
		{name: "long chain", groups: map[string][]string{"g1": {"a"}, "g2": {"a", "b"}, "g3": {"b", "c"}, "g4": {"c", "d"}}, required: []string{"g4", "g3", "g2", "g1"}, fixer: "fixer"},
		{name: "hall violation hidden behind a free member", groups: map[string][]string{"g1": {"a", "b"}, "g2": {"a", "b"}, "g3": {"a", "b"}, "g4": {"c"}}, required: []string{"g4", "g1", "g2", "g3"}, fixer: "fixer",
			msg: []string{"g3 has nobody left"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := groupsOf(t, c.groups)
			err := g.CheckRequired(c.required, c.fixer, c.author)
			if c.msg == nil {
				if err != nil {
					t.Fatalf("CheckRequired = %v, want nil", err)
				}
				return
			}
			wantKind(t, err, incident.KindConflict, c.msg...)
		})
	}
}

func TestDescribe(t *testing.T) {
	if got := describe([]string{"a", "b"}); got != "<@a>, <@b>" {
		t.Errorf("describe = %q", got)
	}
	if got := describe(nil); got != "" {
		t.Errorf("describe(nil) = %q", got)
	}
}
