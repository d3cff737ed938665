package mention

import (
	"strings"
	"testing"
)

func TestNeutralise(t *testing.T) {
	for _, in := range []string{"@channel", "@ALL!", "hey @here.", `\@channel`, "**@all**", "[@here](x)", "@here,@channel", "@all-hands", "@\u200dhere"} {
		out := strings.ToLower(Neutralise(in))
		for _, w := range massMentions {
			if strings.Contains(strings.ReplaceAll(out, "\u200d", ""), "@"+w) {
				t.Errorf("Neutralise(%q) = %q: @%s survives", in, out, w)
			}
		}
	}
	for _, in := range []string{"@alice", "@allison", "@hereford", "a@b.c", "plain"} {
		if out := Neutralise(in); out != in {
			t.Errorf("Neutralise(%q) = %q, want unchanged", in, out)
		}
	}
}

func TestInlineShowsTitlesAsTyped(t *testing.T) {
	for in, want := range map[string]string{
		"DB *primary*\n down":  `DB \*primary\* down`,
		"a_b `c` [d](e) ~f~":   "a\\_b \\`c\\` \\[d\\](e) \\~f\\~",
		`C:\path\*`:            `C:\\path\\\*`,
		"ping @channel now":    "ping @" + ZeroWidthSpace + "channel now",
		"DB <primary> <!here>": "DB <primary> <!here>",
	} {
		if got := Inline(in); got != want {
			t.Errorf("Inline(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuietNamesWithoutNotifying(t *testing.T) {
	if got := Quiet("alice"); got != "@\u200balice" {
		t.Errorf("Quiet(alice) = %q", got)
	}
	if got := Neutralise(Quiet("channel")); got != Quiet("channel") {
		t.Errorf("a quiet name was neutralised again: %q", got)
	}
}
