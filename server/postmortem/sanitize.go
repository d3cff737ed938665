package postmortem

import (
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// This file keeps user text from doing harm in a post: mass mentions are
// neutralised, table cells cannot break their row, and multi-line text is
// fenced in block quotes.

// neutralise stops mass mentions (see package mention).
func neutralise(s string) string { return mention.Neutralise(s) }

// title renders an incident title the one way titles are shown everywhere
// (see mention.Inline): one line, its Markdown escaped, so that it reads
// as typed, as in the chat posts.
func title(s string) string { return mention.Inline(s) }

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
// name(id).
func renderUsers(text string, name func(string) string) string { return rota.RenderUsers(text, name) }
