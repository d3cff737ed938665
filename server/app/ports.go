// Package app holds the use cases of the incident bot: start an incident,
// post updates and notes, change severity, mitigate, resolve, reopen, list
// and read timelines. It depends on the domain (package incident) and on the
// small ports declared here, which adapters implement; it never imports
// Mattermost.
package app

import (
	"context"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/alias"
	"github.com/incidentbot/mattermost-incident-bot/server/hosts"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/routing"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
)

// Chat is what the use cases need from the chat platform: the incident's
// channel and its card.
type Chat interface {
	// CreateIncidentChannel creates the incident's own channel in its team
	// and returns the channel id. A name clash is an incident.ErrConflict.
	CreateIncidentChannel(ctx context.Context, inc *incident.Incident, private bool) (string, error)
	// ArchiveChannel undoes CreateIncidentChannel when a start fails halfway.
	ArchiveChannel(ctx context.Context, channelID string) error
	// AddToChannel makes userID a member of channelID. Someone outside the
	// channel's team is added to the team first, when the server lets
	// them join it; otherwise the error is an *OutsideTeamError.
	AddToChannel(ctx context.Context, channelID, userID string) error
	// PostCard posts the incident card in the incident channel; it returns
	// the post id and a fingerprint of what the card shows.
	PostCard(ctx context.Context, inc *incident.Incident) (id, shown string, err error)
	// UpdateCard re-renders the card to show inc's current state, unless
	// the card shows that already: its fingerprint is shown. It returns the
	// fingerprint of what the card shows now.
	UpdateCard(ctx context.Context, inc *incident.Incident, shown string) (string, error)
	// DeletePost removes a post the bot made (undo of a half-made start).
	DeletePost(ctx context.Context, postID string) error
	// PostHandover asks the handover's new holder, in the incident channel,
	// to accept the role with a button; it returns the post id.
	PostHandover(ctx context.Context, inc *incident.Incident, role incident.Role) (string, error)
	// CloseHandover marks a handover post accepted and removes its button.
	CloseHandover(ctx context.Context, inc *incident.Incident, role incident.Role, postID, acceptedBy string) error
}

// Notifier tells people what happened: in the incident channel and, for
// events stakeholders care about, in the broadcast channel.
type Notifier interface {
	// Announce tells the broadcast channel that inc has started.
	Announce(ctx context.Context, inc *incident.Incident, broadcastChannelID string) error
	// Publish posts events where each belongs for its type, in order:
	// those for one channel together, in as few posts as the post size
	// allows (a burst of status updates is one post, not one each).
	// broadcastChannelID may be empty (no broadcast configured). Within a
	// follow-up step (see work.Once) a retry posts only the events an
	// earlier attempt did not.
	Publish(ctx context.Context, inc *incident.Incident, events []incident.Event, broadcastChannelID string) error
}

// Access answers permission questions about the acting user.
type Access interface {
	// CanAccessChannel reports whether userID may read channelID.
	CanAccessChannel(ctx context.Context, userID, channelID string) bool
	// CanReadTeam reports whether userID may read teamID's public
	// channels.
	CanReadTeam(ctx context.Context, userID, teamID string) bool
}

// Directory answers questions about people.
type Directory interface {
	// IsSystemAdmin reports whether userID is a system admin.
	IsSystemAdmin(ctx context.Context, userID string) bool
	// IsActiveUser reports whether userID is a user who may sign in
	// (exists, not deactivated).
	IsActiveUser(ctx context.Context, userID string) bool
}

// Schedules parses a rota handoff spec ("CRON_TZ=Europe/Berlin 0 9 * * MON")
// into a schedule and the time zone its dates are read in.
type Schedules func(spec string) (rota.Schedule, *time.Location, error)

// Settings are the parts of the plugin configuration the use cases read.
type Settings struct {
	BroadcastChannelID string // "" = no broadcast
	PrivateChannels    bool   // incident channels are private
	// PrivateDisclosure is what shared channels see of a private incident.
	PrivateDisclosure incident.Disclosure
	Policy            rota.Policy
	// RotaAdmins may edit the rota besides system admins (user ids).
	RotaAdmins []string
	// AckTimeout is how long a page waits for an acknowledgement at each
	// escalation level, per severity; 0 = no paging for that severity.
	AckTimeout map[incident.Severity]time.Duration
	// MinEscalation is the shortest escalation wait allowed (rota
	// escalation policies included).
	MinEscalation time.Duration
	// Renotify is how often an unacknowledged page notifies its current
	// target again; 0 = never.
	Renotify time.Duration
	// AnyRotaMemberMayAck lets any rota member acknowledge any page, not
	// only the paged person.
	AnyRotaMemberMayAck bool
	// UpdateCadence is how often the incident manager owes a status update,
	// per severity; 0 = never remind.
	UpdateCadence map[incident.Severity]time.Duration
	// PostmortemChannelID also receives every postmortem ("" = only the
	// incident channel).
	PostmortemChannelID string
	// Location is the display time zone of postmortems (UTC is always
	// shown too).
	Location *time.Location
	// Alerts configures alert intake from monitoring.
	Alerts AlertSettings
	// HotfixGroups are the sign-off groups every hotfix needs, in order.
	HotfixGroups []string
	// Handles are the on-duty handles ("@release-manager").
	Handles alias.Handles
	// RunbookRules attach runbooks to new incidents; the first match wins.
	RunbookRules []runbook.Rule
	// RotaRules choose the rota of a new incident that names none; the
	// first match wins (see rotaForStart).
	RotaRules []routing.Rule
	// WebhookHosts are the hosts pages may be sent to by webhook (empty:
	// every public host).
	WebhookHosts hosts.List
}

// Clock returns the current time; tests pass a fixed or stepping clock.
type Clock func() time.Time

// IDs returns a new short incident id: lower-case letters and digits.
type IDs func() string
