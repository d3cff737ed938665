package alias

import (
	"reflect"
	"strings"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func names(us []Use) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}

func TestFind(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"none", "no handles here", nil},
		{"plain", "ping @release-manager please", []string{"release-manager"}},
		{"start and punctuation", "@first-line, and (@second-line).", []string{"first-line", "second-line"}},
		{"case folded, once", "@Release-Manager and @release-manager", []string{"release-manager"}},
		{"trailing dot", "ask @delivery-rota.", []string{"delivery-rota"}},
		{"email is not a mention", "mail ops@release-manager.example", nil},
		{"inline code", "see `@release-manager` and ``x @first-line` y``", nil},
		{"unclosed backtick is text", "a ` b @first-line", []string{"first-line"}},
		{"fenced block", "```\n@release-manager\n```\n@first-line", []string{"first-line"}},
		{"tilde fence", "~~~go\n@release-manager\n~~~~\nafter @third-line", []string{"third-line"}},
		{"unclosed fence hides the rest", "```\n@release-manager", nil},
		{"indented code after blank", "text\n\n    @release-manager\n\n@first-line", []string{"first-line"}},
		{"indented continuation is text", "text\n    @release-manager", []string{"release-manager"}},
		{"block quote", "> @release-manager is @alice\nthanks", nil},
		{"bold", "**@release-manager**", []string{"release-manager"}},
		{"digit start is no name", "@1abc", nil},
		{"bare at", "@ alone", nil},
		{"unicode before", "é@release-manager", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := names(Find(c.text)); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Find(%q) = %v, want %v", c.text, got, c.want)
			}
		})
	}
}

func TestFindPage(t *testing.T) {
	cases := []struct {
		text     string
		page     bool
		pageText string
	}{
		{"@release-manager !page build server is down", true, "build server is down"},
		{"@release-manager  !page", true, ""},
		{"@release-manager !pager duty", false, ""},
		{"@release-manager!page x", false, ""},
		{"@release-manager please !page x", false, ""},
		{"@release-manager\n!page x", false, ""},
		{"@release-manager hi\n@release-manager !page now", true, "now"},
		{"`@release-manager !page x`", false, ""},
	}
	for _, c := range cases {
		us := Find(c.text)
		var u Use
		if len(us) > 0 {
			u = us[0]
		}
		if u.Page != c.page || u.PageText != c.pageText {
			t.Errorf("Find(%q) = %+v, want page %v %q", c.text, u, c.page, c.pageText)
		}
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{"release-manager": true, "ab": false, "a.b": true, "ab-": false, "Ab1": false,
		"1ab": false, "a b": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v", name, got)
		}
	}
}

func TestParseHandles(t *testing.T) {
	h, err := ParseHandles(DefaultHandles, DefaultGroupPattern)
	if err != nil {
		t.Fatal(err)
	}
	if h.Roles[incident.RoleRM] != "release-manager" || h.Rota != "delivery-rota" || len(h.Roles) != 5 {
		t.Fatalf("defaults: %+v", h)
	}
	for name, want := range map[string]Target{
		"release-manager":  {Handle: "release-manager", Kind: KindRole, Role: incident.RoleRM},
		"incident-manager": {Handle: "incident-manager", Kind: KindRole, Role: incident.RoleIM},
		"delivery-rota":    {Handle: "delivery-rota", Kind: KindRota},
		"qa-signoff":       {Handle: "qa-signoff", Kind: KindGroup, Group: "qa"},
	} {
		if got, ok := h.Resolve(name); !ok || got != want {
			t.Errorf("Resolve(%q) = %+v, %v", name, got, ok)
		}
	}
	for _, name := range []string{"-signoff", "signoff", "alice", ""} {
		if _, ok := h.Resolve(name); ok {
			t.Errorf("Resolve(%q) resolved", name)
		}
	}
	if h.GroupHandle("qa") != "qa-signoff" {
		t.Error(h.GroupHandle("qa"))
	}
	off, err := ParseHandles("rm=@Release-Manager, im=off", "off")
	if err != nil || off.Roles[incident.RoleRM] != "release-manager" || off.Roles[incident.RoleIM] != "" || off.GroupHandle("qa") != "" {
		t.Fatalf("%+v %v", off, err)
	}
	for _, bad := range [][2]string{
		{"rm=release-manager, rm=other", ""},
		{"rm=same, im=same", ""},
		{"rm=same, rota=same", ""},
		{"xx=foo", ""},
		{"rm", ""},
		{"rm=a b", ""},
		{"rm=Ab", ""},
		{"rm=release-manager", "signoff"},
		{"rm=release-manager", "{group}"},
		{"rm=release-manager", "{group}-{group}"},
		{"rm=qa-signoff", "{group}-signoff"},
	} {
		if _, err := ParseHandles(bad[0], bad[1]); err == nil {
			t.Errorf("ParseHandles(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestHandlesOfOtherRotasResolveByPrefix(t *testing.T) {
	h, err := ParseHandles(DefaultHandles, DefaultGroupPattern)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want Target
		ok   bool
	}{
		{"release-manager", Target{Handle: "release-manager", Kind: KindRole, Role: incident.RoleRM}, true},
		{"payments-release-manager", Target{Handle: "payments-release-manager", Kind: KindRole, Role: incident.RoleRM, Rota: "payments"}, true},
		{"payments-oncall", Target{Handle: "payments-oncall", Kind: KindRota, Rota: "payments"}, true},
		{"cards-oncall", Target{}, false},
		{"payments-", Target{}, false},
	} {
		got, ok := h.ResolveIn(c.name, []string{"payments", "web"})
		if ok != c.ok || got != c.want {
			t.Errorf("ResolveIn(%q) = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
	for name, want := range map[string]bool{"payments-oncall": true, "x-first-line": true, "oncall": false, "-oncall": false, "alice": false} {
		if got := h.MaybeRota(name); got != want {
			t.Errorf("MaybeRota(%q) = %v", name, got)
		}
	}
}
