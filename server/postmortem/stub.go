package postmortem

import (
	"fmt"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Stub is what a shared channel sees of a private incident's postmortem
// when its details are redacted: that there is one, the incident's id,
// severity and status, and whom to ask. name renders a user without
// notifying them.
func Stub(inc *incident.Incident, name func(userID string) string) string {
	return fmt.Sprintf("#### :lock: Postmortem of private incident %s\n**%s (%s)** at its highest · %s · the postmortem is in the incident's private channel: ask %s for access.",
		inc.ShortRef(), inc.HighestSeverity, inc.HighestSeverity.Label(), inc.Status.Label(), name(inc.Contact()))
}
