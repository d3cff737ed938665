// Package mention keeps user text from doing harm in a post: from
// notifying a whole channel and, shown inline, from turning into Markdown.
// The server honours "@channel", "@all" and "@here" even after a
// backslash, in bold and inside links, so markdown escaping is not enough;
// a zero-width space after the "@" is. Pure text: both the bot and the
// postmortem renderer use it, so that a title reads the same everywhere.
package mention

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ZeroWidthSpace after "@" stops Mattermost's mention parser without
// changing what readers see.
const ZeroWidthSpace = "\u200b"

// massMentions are the words that notify a whole channel.
var massMentions = []string{"channel", "all", "here"}

// Neutralise inserts a zero-width space after every "@" that starts a mass
// mention ("@channel", "@all", "@here", any case, as a whole word), so that
// posting s can notify nobody at large. "@alice" still mentions Alice and
// "@allison" is left alone.
func Neutralise(s string) string {
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
			b.WriteString(ZeroWidthSpace)
		}
	}
	b.WriteString(s)
	return b.String()
}

// isMassMention reports whether rest (the text after an "@") starts with a
// mass-mention word that is not merely the start of a longer word. Other
// invisible characters are skipped first: they do not stop the parser.
func isMassMention(rest string) bool {
	rest = strings.TrimLeft(rest, "\u200c\u200d\ufeff")
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

// inlineMarkdown escapes the characters that would make inline Markdown of
// user text: emphasis, strikethrough, code spans, links, and the backslash
// that would undo an escape.
var inlineMarkdown = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "~", `\~`)

// Inline renders user text (an incident title above all) as one line of
// literal Markdown: runs of white space, newlines included, become one
// space, Markdown that would be rendered or would break out of the
// surrounding markup (bold, a link, a table cell's neighbours) is escaped,
// and mass mentions are neutralised. Every place that shows a title in
// Markdown (chat posts, the card, replies, the postmortem) shows it through
// Inline, so it reads the same, as typed, everywhere.
func Inline(s string) string {
	return Neutralise(inlineMarkdown.Replace(strings.Join(strings.Fields(s), " ")))
}

// Quiet shows a user as @username without notifying them: a zero-width
// space after the "@". Postmortems name everyone involved this way, in
// chat and offline, so that reading history pings nobody.
func Quiet(username string) string { return "@" + ZeroWidthSpace + username }
