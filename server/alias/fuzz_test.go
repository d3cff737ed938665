package alias

import (
	"strings"
	"testing"
)

// FuzzFind checks that Find never panics, returns every handle once, in
// lower case, as a valid-looking name that occurs in the text.
func FuzzFind(f *testing.F) {
	for _, s := range []string{"@release-manager !page x", "```\n@a\n```", "`@x` @yy", "> @quoted", "    @code", "@@@", "`` ` ``@abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seen := map[string]bool{}
		lower := strings.ToLower(s)
		for _, u := range Find(s) {
			if seen[u.Name] {
				t.Fatalf("%q twice", u.Name)
			}
			seen[u.Name] = true
			if u.Name == "" || u.Name != strings.ToLower(u.Name) || len(u.Name) > MaxName || !strings.Contains(lower, "@"+u.Name) {
				t.Fatalf("bad name %q from %q", u.Name, s)
			}
			if !u.Page && u.PageText != "" {
				t.Fatalf("page text without page: %+v", u)
			}
		}
	})
}
