package postmortem

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkSplit asserts Split's promises for parts of md under limit: no part
// over the limit, every line whole, a continued table starting with its
// header again, and md back when the parts are joined without the repeats.
// It assumes no line of md is longer than the limit.
func checkSplit(t *testing.T, md string, parts []string, limit int) {
	t.Helper()
	lines := map[string]bool{}
	for _, l := range strings.Split(md, "\n") {
		lines[l] = true
	}
	var joined string
	for k, p := range parts {
		if n := utf8.RuneCountInString(p); n > limit {
			t.Fatalf("part %d has %d runes, over the limit %d", k, n, limit)
		}
		if strings.TrimSpace(p) == "" {
			t.Fatalf("part %d is blank", k)
		}
		pl := strings.Split(p, "\n")
		for _, l := range pl {
			if !lines[l] {
				t.Fatalf("part %d holds a line that is not a whole line of the input: %q", k, l)
			}
		}
		if isRow(pl[0]) && (len(pl) < 2 || !isDelimiterRow(pl[1])) {
			t.Fatalf("part %d starts inside a table without its header: %q", k, pl[0])
		}
		if k == 0 {
			joined = p
			continue
		}
		if next := joined + "\n" + p; strings.HasPrefix(md, next) {
			joined = next
			continue
		}
		// A repeated header: the part continues the table the previous part
		// ended in.
		if len(pl) < 3 || !isRow(pl[0]) || !isDelimiterRow(pl[1]) {
			t.Fatalf("part %d neither continues the input nor repeats a table header: %q", k, firstLines(p))
		}
		prev := strings.Split(parts[k-1], "\n")
		if !isRow(prev[len(prev)-1]) {
			t.Fatalf("part %d repeats a table header, but the part before did not end in a table", k)
		}
		joined += "\n" + strings.Join(pl[2:], "\n")
		if !strings.HasPrefix(md, joined) {
			t.Fatalf("part %d does not continue the input after its repeated header: %q", k, firstLines(p))
		}
		if !strings.Contains(md, pl[0]+"\n"+pl[1]+"\n") {
			t.Fatalf("part %d repeats a header that is not in the input", k)
		}
	}
	if joined != md {
		t.Fatalf("joined parts differ from the input: %d vs %d bytes", len(joined), len(md))
	}
}

func firstLines(s string) string {
	l := strings.SplitN(s, "\n", 4)
	return strings.Join(l[:min(3, len(l))], "\n")
}

// maxLine returns the rune count of md's longest line.
func maxLine(md string) int {
	n := 0
	for _, l := range strings.Split(md, "\n") {
		n = max(n, utf8.RuneCountInString(l))
	}
	return n
}

func TestSplitRichPostmortem(t *testing.T) {
	md := Render(richScenario(t))
	if got := Split(md, PostLimit); len(got) != 1 || got[0] != md {
		t.Fatalf("a postmortem under the limit was split in %d", len(got))
	}
	// Room for the longest line after a repeated timeline header.
	least := maxLine(md) + 60
	for _, limit := range []int{least, least + 97, 600, 1000, 1500, 2500, 4000} {
		if limit < least {
			continue
		}
		parts := Split(md, limit)
		if len(parts) < 2 {
			t.Fatalf("limit %d: %d parts", limit, len(parts))
		}
		checkSplit(t, md, parts, limit)
	}
	// At 2500 runes every section but the timeline fits a post: each part
	// starts a section or continues the timeline.
	for k, p := range Split(md, 2500)[1:] {
		if !strings.HasPrefix(p, "## ") && !strings.HasPrefix(p, "| Time (UTC) |") {
			t.Errorf("part %d does not start at a section: %q", k+1, firstLines(p))
		}
	}
}

func TestSplitRepeatsTableHeader(t *testing.T) {
	var b strings.Builder
	b.WriteString("## Timeline\n\n| Time | Event |\n|---|---|\n")
	for i := range 200 {
		fmt.Fprintf(&b, "| %03d | event number %d \\| with a pipe |\n", i, i)
	}
	b.WriteString("\nAfter the table.\n")
	md := b.String()
	parts := Split(md, 700)
	checkSplit(t, md, parts, 700)
	rows := 0
	for k, p := range parts {
		if k > 0 && !strings.HasPrefix(p, "| Time | Event |\n|---|---|\n") && !strings.HasPrefix(p, "\nAfter") {
			t.Errorf("part %d does not repeat the header: %q", k, firstLines(p))
		}
		rows += strings.Count(p, "| event number")
	}
	if rows != 200 {
		t.Errorf("%d rows after splitting, want 200", rows)
	}
}

func TestSplitPrefersSections(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Title\n\nIntro.\n\n")
	for s := range 6 {
		fmt.Fprintf(&b, "## Section %d\n\n", s)
		for p := range 4 {
			fmt.Fprintf(&b, "Paragraph %d of section %d, long enough to take some room in a post.\n\n", p, s)
		}
	}
	md := b.String()
	parts := Split(md, 800) // two sections and a bit per part
	checkSplit(t, md, parts, 800)
	for k, p := range parts[1:] {
		if !strings.HasPrefix(p, "## Section") {
			t.Errorf("part %d starts mid-section: %q", k+1, firstLines(p))
		}
	}
	// A section longer than a post is cut at a paragraph, not mid-paragraph.
	parts = Split(md, 200)
	checkSplit(t, md, parts, 200)
	for k, p := range parts[1:] {
		if !strings.HasPrefix(p, "## ") && !strings.HasPrefix(p, "Paragraph") && !strings.HasPrefix(p, "\n") {
			t.Errorf("part %d starts mid-paragraph: %q", k+1, firstLines(p))
		}
	}
}

func TestSplitEdges(t *testing.T) {
	if got := Split("", 10); got != nil {
		t.Errorf("empty: %q", got)
	}
	if got := Split("short", 10); len(got) != 1 || got[0] != "short" {
		t.Errorf("short: %q", got)
	}
	if got := Split("no limit\nat all", 0); len(got) != 1 {
		t.Errorf("limit 0: %q", got)
	}
	// Runes, not bytes: 10 three-byte runes fit a limit of 10.
	if got := Split(strings.Repeat("€", 10), 10); len(got) != 1 {
		t.Errorf("runes counted as bytes: %q", got)
	}
	// A line longer than the limit is cut, at spaces where it can be.
	long := strings.Repeat("word ", 50) + strings.Repeat("x", 40)
	got := Split("intro\n"+long, 60)
	if strings.Join(got[1:], "") != long || got[0] != "intro" {
		t.Errorf("long line: %q", got)
	}
	for _, p := range got {
		if utf8.RuneCountInString(p) > 60 {
			t.Errorf("piece over the limit: %q", p)
		}
	}
	if !strings.HasSuffix(got[1], " ") {
		t.Errorf("long line not cut at a space: %q", got[1])
	}
	// Trailing newlines stay on the last part.
	got = Split("a\n\n## b\nc\n\n", 8)
	if strings.Join(got, "\n") != "a\n\n## b\nc\n\n" {
		t.Errorf("trailing newlines: %q", got)
	}
}

// TestSplitRandomDocuments checks Split's promises on random documents of
// headings, paragraphs, quotes and tables at random limits.
func TestSplitRandomDocuments(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		return []string{"alpha", "béta", "γάμμα", "delta", "@here", "x|y", `a\|b`, "—"}[rng.IntN(8)]
	}
	text := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = word()
		}
		return strings.Join(w, " ")
	}
	for iter := range 300 {
		var b strings.Builder
		for range 1 + rng.IntN(12) {
			switch rng.IntN(6) {
			case 0:
				fmt.Fprintf(&b, "## %s\n\n", text(2))
			case 1:
				fmt.Fprintf(&b, "### %s\n\n", text(2))
			case 2:
				fmt.Fprintf(&b, "%s\n%s\n\n", text(1+rng.IntN(8)), text(1+rng.IntN(8)))
			case 3:
				fmt.Fprintf(&b, "> %s\n>\n> %s\n\n", text(3), text(5))
			default:
				cols := 1 + rng.IntN(4)
				b.WriteString("|" + strings.Repeat(" h |", cols) + "\n|" + strings.Repeat("---|", cols) + "\n")
				for range rng.IntN(30) {
					b.WriteString("|")
					for range cols {
						b.WriteString(" " + cell(text(1+rng.IntN(3))) + " |")
					}
					b.WriteString("\n")
				}
				b.WriteString("\n")
			}
		}
		md := strings.TrimRight(b.String(), "\n")
		limit := maxLine(md) + 60 + rng.IntN(400)
		parts := Split(md, limit)
		t.Run(fmt.Sprint(iter), func(t *testing.T) { checkSplit(t, md, parts, limit) })
	}
}

func TestSplitTenThousandEvents(t *testing.T) {
	md := Render(bigInput(10000))
	parts := Split(md, PostLimit)
	checkSplit(t, md, parts, PostLimit)
	tables := 0
	for _, p := range parts {
		if strings.HasPrefix(p, "| Time (UTC) | Actor | Event |\n|---|---|---|\n") {
			tables++
		}
	}
	if len(parts) < 20 || tables < len(parts)/2 {
		t.Errorf("%d parts of which %d continue the timeline", len(parts), tables)
	}
	t.Logf("%d runes in %d posts", utf8.RuneCountInString(md), len(parts))
}
