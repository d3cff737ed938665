package postmortem

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file keeps user text from doing harm in a post: mass mentions are
// neutralised, table cells cannot break their row, and multi-line text is
// fenced in block quotes. It mirrors server/bot's sanitiser, which this pure
// package may not import.

// zeroWidthSpace after "@" stops Mattermost's mention parser without
// changing what readers see.
const zeroWidthSpace = "\u200b"

// massMentions are the words that notify a whole channel.
var massMentions = []string{"channel", "all", "here"}

// neutralise inserts a zero-width space after every "@" that starts a mass
// mention ("@channel", "@all", "@here", any case, as a whole word), so that
// posting s can notify nobody at large. "@alice" and "@allison" are left
// alone.
func neutralise(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for {
		i := strings.IndexByte(s, '@')
		if i < 0 {
			break
		}
		b.WriteString(s[:i+1])
		s = s[i+1:]
		if isMassMention(s) {
			b.WriteString(zeroWidthSpace)
		}
	}
	b.WriteString(s)
	return b.String()
}

// isMassMention reports whether rest (the text after an "@") starts with a
// mass-mention word that is not merely the start of a longer word.
func isMassMention(rest string) bool {
	rest = strings.TrimLeft(rest, "\u200b\u200c\u200d\ufeff")
	for _, w := range massMentions {
		if len(rest) < len(w) || !strings.EqualFold(rest[:len(w)], w) {
			continue
		}
		next, _ := utf8.DecodeRuneInString(rest[len(w):])
		if next == utf8.RuneError || !(unicode.IsLetter(next) || unicode.IsDigit(next)) {
			return true
		}
	}
	return false
}

// oneLine collapses every run of white space, newlines included, to a single
// space and trims the ends.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// cell renders s as the content of one Markdown table cell: one line, and
// every "|" escaped so that it cannot end the cell. A pipe is escaped by an
// odd run of backslashes before it (the rule of both cmark-gfm and marked,
// which Mattermost's web app uses), so user text that already ends in a
// backslash cannot un-escape our pipe. An empty cell becomes "–".
func cell(s string) string {
	s = oneLine(s)
	if s == "" {
		return "–"
	}
	if !strings.Contains(s, "|") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '|' && slashes%2 == 0 {
			b.WriteByte('\\')
		}
		if c == '\\' {
			slashes++
		} else {
			slashes = 0
		}
		b.WriteByte(c)
	}
	return b.String()
}

// quote renders multi-line user text as a Markdown block quote. Inside a
// quote, whatever the text holds (a heading, a code fence, a table) ends
// with the quote, so it cannot swallow the sections after it.
func quote(s string) string {
	s = strings.TrimSpace(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s))
	lines := strings.Split(s, "\n")
	var b strings.Builder
	b.Grow(len(s) + 3*len(lines))
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		l = strings.TrimRight(l, " \t")
		if l == "" {
			b.WriteByte('>')
			continue
		}
		b.WriteString("> ")
		b.WriteString(l)
	}
	return b.String()
}

// renderUsers replaces each user reference "<@id>" in domain text with
// name(id), as rota.RenderUsers does; anything that is not a well-formed
// reference is kept as it is.
func renderUsers(text string, name func(string) string) string {
	if !strings.Contains(text, "<@") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "<@")
		if i < 0 {
			break
		}
		j := strings.IndexByte(text[i:], '>')
		id := ""
		if j > 2 {
			id = text[i+2 : i+j]
		}
		if id == "" || strings.ContainsAny(id, " <@") {
			b.WriteString(text[:i+2])
			text = text[i+2:]
			continue
		}
		b.WriteString(text[:i])
		b.WriteString(name(id))
		text = text[i+j+1:]
	}
	b.WriteString(text)
	return b.String()
}
