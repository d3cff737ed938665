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
