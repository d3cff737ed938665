package incident

import "strings"

// ChannelPrefix starts the name of every incident's own channel:
// "incident-<id>" and, when the title gives one, "-<slug>".
const ChannelPrefix = "incident"

// IsChannelNameOf reports whether name is one the bot gives incident id's
// channel: an archive from elsewhere binds an incident only to such a
// channel, never to some other channel of the same name.
func IsChannelNameOf(name, id string) bool {
	base := ChannelPrefix + "-" + id
	return name == base || strings.HasPrefix(name, base+"-")
}
