package bot

import (
	"strings"
	"testing"
)

func TestSanitizeNeutralisesMassMentions(t *testing.T) {
	cases := []string{
		"@channel", "@all", "@here", "@CHANNEL", "@Here!", "hey @here.", `\@channel`,
		"**@all**", "[@all](http://x)", "@here,@channel", "(@all)", "@channel\n", "@all-hands",
	}
	for _, in := range cases {
		if out := Sanitize(in); bareMassMention(out) {
			t.Errorf("Sanitize(%q) = %q: a mass mention survives", in, out)
		}
	}
}

func TestSanitizeKeepsOrdinaryText(t *testing.T) {
	for _, in := range []string{"@alice please look", "@allison", "@channels-team", "@hereford", "mail me at a@b.c", "no at sign"} {
		if out := Sanitize(in); out != in {
			t.Errorf("Sanitize(%q) = %q, want unchanged", in, out)
		}
	}
}

func TestQuoteAndInlineSanitise(t *testing.T) {
	if q := Quote("line @here\n@all"); bareMassMention(q) || !strings.HasPrefix(q, "> line") || !strings.Contains(q, "\n> @") {
		t.Errorf("Quote = %q", q)
	}
	if s := Inline("a *b*\n@channel"); bareMassMention(s) || strings.Contains(s, "\n") || !strings.Contains(s, `\*b\*`) {
		t.Errorf("Inline = %q", s)
	}
}

// bareMassMention reports whether s still holds "@" directly followed by a
// mass-mention word.
func bareMassMention(s string) bool {
	l := strings.ToLower(s)
	for _, w := range []string{"channel", "all", "here"} {
		if strings.Contains(l, "@"+w) {
			return true
		}
	}
	return false
}
