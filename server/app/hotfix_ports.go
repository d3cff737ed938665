package app

import (
	"context"

	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Releases shows hotfix sign-off and release freezes in chat.
type Releases interface {
	// PostHotfix posts h's sign-off post in the incident channel,
	// mentioning its release manager and the members of its groups, and
	// returns the post id.
	PostHotfix(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups) (string, error)
	// UpdateHotfix re-renders the sign-off post to show h's state; editing
	// notifies nobody.
	UpdateHotfix(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups) error
	// HotfixNotice tells people about ev, an event of h: in reply to the
	// sign-off post, mentioning whom the next step needs (the release
	// manager once staging is signed off, the groups once it is deployed),
	// and in the broadcast channel for the milestones stakeholders follow
	// (requested, deployed, signed off, rejected, cancelled).
	HotfixNotice(ctx context.Context, inc *incident.Incident, h *hotfix.Hotfix, groups *hotfix.Groups, ev incident.Event, broadcastChannelID string) error
	// AnnounceFreeze tells the broadcast channel that a release freeze
	// started (f is the new state) or ended (f is the state before).
	AnnounceFreeze(ctx context.Context, f *Freeze, started bool, broadcastChannelID string) error
}
