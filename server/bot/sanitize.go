package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// massMentions are the words that notify a whole channel. The server also
// honours them after a backslash, in bold, and inside links, so escaping with
// markdown is not enough.
var massMentions = []string{"channel", "all", "here"}

// zeroWidthSpace after "@" stops the server's mention parser without
// changing what readers see.
const zeroWidthSpace = "\u200b"

// Sanitize makes user text safe to post as the bot: "@channel", "@all" and
// "@here" (any case, any surrounding markup) can no longer notify anyone,
// while "@alice" still mentions Alice and "@allison" is left alone.
func Sanitize(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		c := s[i]
		if c != '@' {
			b.WriteByte(c)
			i++
			continue
		}
		b.WriteByte(c)
		i++
		if isMassMention(s[i:]) {
			b.WriteString(zeroWidthSpace)
		}
	}
	return b.String()
}

// isMassMention reports whether rest (the text after an "@") starts with a
// mass-mention word that is not merely the start of a longer name.
func isMassMention(rest string) bool {
	// Skip characters that render as nothing and could be used to sneak a
	// word past a naive check ("@\u200dhere" is not a mention, but cheap to
	// cover).
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

// Quote renders user text as a markdown block quote, sanitised.
func Quote(s string) string {
	lines := strings.Split(Sanitize(s), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}

// Inline renders user text on one line, sanitised, for titles in bold or
// links: newlines become spaces and markdown that would break out of the
// surrounding markup is escaped.
func Inline(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r := strings.NewReplacer("*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "~", `\~`)
	return Sanitize(r.Replace(s))
}
