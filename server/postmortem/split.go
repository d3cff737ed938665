package postmortem

import (
	"strings"
	"unicode/utf8"
)

// PostLimit is the longest message Mattermost accepts in one post, in runes.
const PostLimit = 16383

// Split cuts Markdown into parts of at most limit runes each, to post one
// after the other. It cuts only between lines, and prefers, in order: before
// a "#" or "##" heading (a new section starts a new post), before a "###"
// heading, after a blank line, then any line. It never cuts between a table's
// header and its first row; a table continued in the next part gets its
// header and delimiter rows again, so each part renders on its own.
//
// Joining the parts with "\n", after removing each repeated table header,
// gives md back exactly, with one exception: a single line longer than
// limit (never produced by Render at PostLimit) is cut into pieces, at a
// space where it can be. Trailing newlines of md stay on the last part when
// they fit. A limit of 0 or less returns md whole; an empty md, no parts.
func Split(md string, limit int) []string {
	if md == "" {
		return nil
	}
	if limit <= 0 || utf8.RuneCountInString(md) <= limit {
		return []string{md}
	}
	body := strings.TrimRight(md, "\n")
	suffix := md[len(body):]
	s := newSplitter(body)
	parts := s.split(limit)
	if last := len(parts) - 1; last >= 0 && utf8.RuneCountInString(parts[last])+len(suffix) <= limit {
		parts[last] += suffix
	}
	return parts
}

// splitter holds the lines of a document and what Split knows of each.
type splitter struct {
	lines []string
	runes []int // runes per line
	head  []int // for a table body row, the index of its table's header row; else -1
	score []int // how good a cut before the line is; see boundaryScore
}

// Cut preferences (a cut is made before line i).
const (
	cutNever   = -2 // inside a table's header, or right after it
	cutAvoid   = -1 // right after a heading
	cutLine    = 0
	cutPara    = 1 // after a blank line
	cutSub     = 2 // before a ### heading
	cutSection = 3 // before a # or ## heading
)

func newSplitter(body string) *splitter {
	lines := strings.Split(body, "\n")
	s := &splitter{lines: lines, runes: make([]int, len(lines)), head: make([]int, len(lines)), score: make([]int, len(lines))}
	for i, l := range lines {
		s.runes[i] = utf8.RuneCountInString(l)
		s.head[i] = -1
	}
	for i := 0; i+1 < len(lines); i++ {
		if !isRow(lines[i]) || !isDelimiterRow(lines[i+1]) {
			continue
		}
		h := i
		s.score[h+1] = cutNever
		if h+2 < len(lines) {
			s.score[h+2] = cutNever
		}
		for i = h + 2; i < len(lines) && isRow(lines[i]); i++ {
			s.head[i] = h
		}
		i-- // the loop's i++ moves to the first line after the table
	}
	for i := 1; i < len(lines); i++ {
		if s.score[i] == cutNever {
			continue
		}
		switch l, prev := lines[i], lines[i-1]; {
		case strings.HasPrefix(l, "# ") || strings.HasPrefix(l, "## "):
			s.score[i] = cutSection
		case strings.HasPrefix(l, "###"):
			s.score[i] = cutSub
		case strings.HasPrefix(prev, "#"):
			s.score[i] = cutAvoid
		case strings.TrimSpace(prev) == "":
			s.score[i] = cutPara
		default:
			s.score[i] = cutLine
		}
	}
	return s
}

// isRow reports whether a line is a (top-level) table row.
func isRow(l string) bool { return strings.HasPrefix(l, "|") }

// isDelimiterRow reports whether a line is a table's delimiter row, such as
// "|---|:--:|".
func isDelimiterRow(l string) bool {
	l = strings.TrimSpace(l)
	if !strings.HasPrefix(l, "|") || !strings.Contains(l, "-") {
		return false
	}
	return strings.Trim(l, "|-: ") == ""
}

// prefix returns the table header to repeat at the top of a part starting at
// line i, with its rune count.
func (s *splitter) prefix(i int) (string, int) {
	h := s.head[i]
	if h < 0 {
		return "", 0
	}
	return s.lines[h] + "\n" + s.lines[h+1] + "\n", s.runes[h] + s.runes[h+1] + 2
}

func (s *splitter) split(limit int) []string {
	var parts []string
	n := len(s.lines)
	for start := 0; start < n; {
		pre, size := s.prefix(start)
		if size+s.runes[start] > limit {
			pre, size = "", 0 // no room to repeat the header: the row alone
		}
		if s.runes[start] > limit {
			parts = append(parts, cutLong(s.lines[start], limit)...)
			start++
			continue
		}
		// sizes[k] is the part's size with lines start..start+k-1.
		sizes := []int{size}
		end := start
		for end < n {
			next := size + s.runes[end]
			if end > start {
				next++ // the newline before the line
			}
			if next > limit {
				break
			}
			size = next
			end++
			sizes = append(sizes, size)
		}
		cut := n
		if end < n {
			cut = s.choose(start, end, sizes, limit)
		}
		parts = append(parts, pre+strings.Join(s.lines[start:cut], "\n"))
		start = cut
	}
	return parts
}

// choose picks where to end a part that starts at line start and can hold
// the lines up to end (exclusive), end < len(lines).
func (s *splitter) choose(start, end int, sizes []int, limit int) int {
	pick := func(ok func(score, size int) bool) int {
		for b := end; b > start; b-- {
			if ok(s.score[b], sizes[b-start]) {
				return b
			}
		}
		return -1
	}
	half := limit / 2
	for _, ok := range []func(score, size int) bool{
		func(sc, _ int) bool { return sc == cutSection },
		func(sc, sz int) bool { return sc == cutSub && sz >= half },
		func(sc, sz int) bool { return sc >= cutPara && sz >= half },
		func(sc, _ int) bool { return sc >= cutLine },
		func(sc, _ int) bool { return sc >= cutAvoid },
	} {
		if b := pick(ok); b > 0 {
			return b
		}
	}
	return end // only cuts inside a table header fit: take what fits
}

// cutLong cuts a line longer than limit into pieces of at most limit runes,
// at the last space of each piece where there is one.
func cutLong(l string, limit int) []string {
	var out []string
	for utf8.RuneCountInString(l) > limit {
		end, n := 0, 0
		for i := range l {
			if n == limit {
				end = i
				break
			}
			n++
		}
		if sp := strings.LastIndexByte(l[:end], ' '); sp > 0 {
			end = sp + 1
		}
		out = append(out, l[:end])
		l = l[end:]
	}
	return append(out, l)
}
