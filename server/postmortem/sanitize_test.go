package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/mention"
)

func TestNeutraliseMassMentions(t *testing.T) {
	for _, in := range []string{
		"@channel", "@all", "@here", "@CHANNEL", "@Here!", "hey @here.", `\@channel`, "**@all**",
		"[@all](http://x)", "@here,@channel", "(@all)", "@channel\n", "@all-hands", "@\u200dhere", "@@here",
	} {
		out := neutralise(in)
		if !strings.Contains(out, "@"+mention.ZeroWidthSpace) {
			t.Errorf("neutralise(%q) = %q: a mass mention survives", in, out)
		}
		if strings.ReplaceAll(out, mention.ZeroWidthSpace, "") != strings.ReplaceAll(in, mention.ZeroWidthSpace, "") {
			t.Errorf("neutralise(%q) = %q: changed more than it had to", in, out)
		}
	}
	for _, in := range []string{"@alice please look", "@allison", "@channels-team", "@hereford", "mail a@b.c", "no at sign", "@"} {
		if out := neutralise(in); out != in {
			t.Errorf("neutralise(%q) = %q, want it unchanged", in, out)
		}
	}
}

func TestCellStaysInItsCell(t *testing.T) {
	for in, want := range map[string]string{
		"plain":             "plain",
		"":                  "–",
		"  \n ":             "–",
		"a|b":               `a\|b`,
		`a\|b`:              `a\|b`, // already escaped: an odd run stays odd
		`a\\|b`:             `a\\\|b`,
		"two\nlines\r\nend": "two lines end",
		"|edge|":            `\|edge\|`,
		`trailing\`:         `trailing\`,
	} {
		got := cell(in)
		if got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
		if n := cells("| " + got + " |"); n != 1 {
			t.Errorf("cell(%q) = %q makes %d cells", in, got, n)
		}
	}
}

func TestQuoteFencesUserText(t *testing.T) {
	got := quote("first\r\n\n```\n## not a heading  \n| a |")
	want := "> first\n>\n> ```\n> ## not a heading\n> | a |"
	if got != want {
		t.Errorf("quote = %q, want %q", got, want)
	}
}

func TestRenderUsers(t *testing.T) {
	n := func(id string) string { return "@" + strings.ToUpper(id) }
	for in, want := range map[string]string{
		"<@a> hands over to <@b>.": "@A hands over to @B.",
		"no refs":                  "no refs",
		"<@> and <@a b> and <@":    "<@> and <@a b> and <@",
		"x <@<@c>":                 "x <@@C",
	} {
		if got := renderUsers(in, n); got != want {
			t.Errorf("renderUsers(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatting(t *testing.T) {
	for d, want := range map[string]string{"0s": "0s", "45s": "45s", "12m30s": "12m 30s", "2h0m5s": "2h 0m 5s", "27h": "1d 3h", "-90s": "-1m 30s", "1.4s": "1s"} {
		if got := dur(mustDur(t, d)); got != want {
			t.Errorf("dur(%s) = %q, want %q", d, got, want)
		}
	}
	if plural(1, "page", "") != "1 page" || plural(0, "page", "") != "0 pages" || plural(2, "entry", "entries") != "2 entries" {
		t.Error("plural")
	}
	if s := preview(strings.Repeat("é", previewRunes+5)); !strings.HasSuffix(s, "…") || len([]rune(s)) != previewRunes+1 {
		t.Errorf("preview = %q", s)
	}
}

func mustDur(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
