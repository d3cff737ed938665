package command

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzCommandParse feeds arbitrary command text through Parse, takeRef,
// takeBareRef and flags, the way the handlers chain them: none may panic,
// and each keeps its promise about what it returns.
func FuzzCommandParse(f *testing.F) {
	for _, s := range []string{
		"/incident start Payments down --severity S1 --summary Card payments fail",
		"/incident update #abc123 Rolled back\nwatching",
		"/incident timeline abcd",
		"/incident note --lesson Alert threshold too high",
		"/incident action add Lower the threshold @bob --due 2030-01-15",
		"/incident hotfix #abc123 --author @bob Raise the pool --rm @rita",
		"/incident hotfix --rm", "/incident hotfix --author bob x",
		"   /INCIDENT   Help  ", "#", "--", "-- --x", "/incident \u00a0start\u2028x", "",
	} {
		f.Add(s)
	}
	known := []string{"severity", "summary", "lesson", "due"}
	f.Fuzz(func(t *testing.T, text string) {
		verb, rest := Parse(text)
		if verb != strings.ToLower(verb) || strings.IndexFunc(verb, unicode.IsSpace) >= 0 {
			t.Fatalf("verb %q", verb)
		}
		if rest != strings.TrimSpace(rest) {
			t.Fatalf("rest %q not trimmed", rest)
		}
		if ref, remaining := takeRef(rest); ref == "" && remaining != rest {
			t.Fatalf("takeRef(%q) dropped text without a ref: %q", rest, remaining)
		} else if ref != "" && !isID(ref) {
			t.Fatalf("takeRef(%q) = %q, not an id", rest, ref)
		}
		if ref, _ := takeBareRef(rest); ref != "" && !isID(ref) {
			t.Fatalf("takeBareRef(%q) = %q, not an id", rest, ref)
		}
		if desc, named, err := userFlags(rest, "author", "rm"); err == nil {
			for name, v := range named {
				if (name != "author" && name != "rm") || !strings.HasPrefix(v, "@") {
					t.Fatalf("userFlags(%q): %s = %q", rest, name, v)
				}
			}
			if len(named) > 0 {
				for _, f := range strings.Fields(desc) {
					if f == "--author" || f == "--rm" {
						t.Fatalf("userFlags(%q) left flag %q in the text %q", rest, f, desc)
					}
				}
			}
		} else if !strings.Contains(rest, "--") {
			t.Fatalf("userFlags(%q) failed without a flag: %v", rest, err)
		}
		pos, values, unknown := flags(rest, known...)
		if unknown != "" {
			if values != nil || pos != "" || !strings.HasPrefix(unknown, "--") {
				t.Fatalf("flags(%q): unknown %q with %q %v", rest, unknown, pos, values)
			}
			return
		}
		for name := range values {
			if !contains(known, name) {
				t.Fatalf("flags(%q): unknown flag %q accepted", rest, name)
			}
		}
	})
}
