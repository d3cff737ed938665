package command

import (
	"reflect"
	"strings"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestParse(t *testing.T) {
	cases := []struct{ in, verb, rest string }{
		{"/incident start DB down", "start", "DB down"},
		{"/incident   UPDATE  line one\nline two ", "update", "line one\nline two"},
		{"/incident", "", ""},
		{"start x", "start", "x"},
	}
	for _, c := range cases {
		if v, r := Parse(c.in); v != c.verb || r != c.rest {
			t.Errorf("Parse(%q) = %q, %q; want %q, %q", c.in, v, r, c.verb, c.rest)
		}
	}
}

func TestTakeRef(t *testing.T) {
	if ref, rest := takeRef("#abc234 all good now"); ref != "abc234" || rest != "all good now" {
		t.Errorf("takeRef = %q %q", ref, rest)
	}
	for _, in := range []string{"all good", "#1 is the top issue", "#ABCD upper"} {
		if ref, rest := takeRef(in); ref != "" || rest != in {
			t.Errorf("takeRef(%q) took %q", in, ref)
		}
	}
	if ref, _ := takeBareRef("abc234"); ref != "abc234" {
		t.Errorf("takeBareRef = %q", ref)
	}
}

func TestFlags(t *testing.T) {
	pos, vals, unk := flags("DB is down --severity S1 --summary users see 500s", "severity", "summary")
	want := map[string]string{"severity": "S1", "summary": "users see 500s"}
	if pos != "DB is down" || !reflect.DeepEqual(vals, want) || unk != "" {
		t.Errorf("flags = %q %v %q", pos, vals, unk)
	}
	if _, _, unk := flags("x --sev S1", "severity"); unk != "--sev" {
		t.Errorf("unknown flag not reported: %q", unk)
	}
	if _, vals, _ := flags("x --summary", "summary"); vals["summary"] != "" || len(vals) != 1 {
		t.Errorf("empty flag value: %v", vals)
	}
}

func TestTableDrivesAutocompleteAndHelp(t *testing.T) {
	ac := AutocompleteData()
	if err := ac.IsValid(); err != nil {
		t.Fatalf("autocomplete invalid: %v", err)
	}
	help := helpText()
	if len(ac.SubCommands) != len(table) {
		t.Fatalf("%d autocomplete entries for %d commands", len(ac.SubCommands), len(table))
	}
	for i, s := range table {
		if ac.SubCommands[i].Trigger != s.name {
			t.Errorf("autocomplete %d = %q, want %q", i, ac.SubCommands[i].Trigger, s.name)
		}
		if !strings.Contains(help, "/incident "+s.name) {
			t.Errorf("help lacks %q", s.name)
		}
		if got, ok := lookup(s.name); !ok || got != s {
			t.Errorf("dispatch lacks %q", s.name)
		}
	}
}

func TestUserFlags(t *testing.T) {
	cases := []struct {
		in, desc, author, rm, err string
	}{
		{in: "Raise the pool", desc: "Raise the pool"},
		{in: "Raise\nthe pool", desc: "Raise\nthe pool"},
		{in: "--author @bob Raise the pool --rm @rita", desc: "Raise the pool", author: "@bob", rm: "@rita"},
		{in: "Raise the pool --AUTHOR @bob", desc: "Raise the pool", author: "@bob"},
		{in: "Raise --author bob", err: "needs a @username"},
		{in: "Raise --rm", err: "needs a @username"},
		{in: "Raise --sev S1", err: "unknown option"},
	}
	for _, c := range cases {
		desc, named, err := userFlags(c.in, "author", "rm")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("userFlags(%q): err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || desc != c.desc || named["author"] != c.author || named["rm"] != c.rm {
			t.Errorf("userFlags(%q) = %q %v %v", c.in, desc, named, err)
		}
	}
}

func TestTakeRotaFlag(t *testing.T) {
	for _, c := range []struct{ in, rest, name string }{
		{"set l1 @a @b --rota payments", "set l1 @a @b", "payments"},
		{"--rota Payments show", "show", "payments"},
		{"show 2026-11-23", "show 2026-11-23", ""},
	} {
		rest, name, err := takeRotaFlag(c.in)
		if err != nil || rest != c.rest || name != c.name {
			t.Errorf("takeRotaFlag(%q) = %q, %q, %v; want %q, %q", c.in, rest, name, err, c.rest, c.name)
		}
	}
	for _, bad := range []string{"show --rota", "show --rota --x"} {
		if _, _, err := takeRotaFlag(bad); incident.KindOf(err) != incident.KindInvalid {
			t.Errorf("takeRotaFlag(%q): %v, want invalid", bad, err)
		}
	}
}
