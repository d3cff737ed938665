package bot

import (
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/mention"
)

// zeroWidthSpace hides a mention from the server's parser (see package
// mention).
const zeroWidthSpace = mention.ZeroWidthSpace

// Sanitize makes user text safe to post as the bot: "@channel", "@all" and
// "@here" (any case, any surrounding markup) can no longer notify anyone,
// while "@alice" still mentions Alice.
func Sanitize(s string) string { return mention.Neutralise(s) }

// Quote renders user text as a markdown block quote, sanitised.
func Quote(s string) string {
	lines := strings.Split(Sanitize(s), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}

// Inline renders user text on one line, sanitised, for titles in bold or
// links: newlines become spaces and markdown is escaped (see
// mention.Inline, the one rule for titles everywhere).
func Inline(s string) string { return mention.Inline(s) }
