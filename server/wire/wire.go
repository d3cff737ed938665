// Package wire holds the names the adapters share with each other and
// with the posts they make: plugin routes, button and dialog ids, post
// props, button context keys, and how a post shows a time. A leaf: the bot
// builds posts with these names, the api serves them, and neither imports
// the other for them.
package wire

// Routes and action names shared by the card (which builds buttons) and the
// api package (which serves them). Action ids must be letters and digits:
// the server's route only matches [A-Za-z0-9]+.
const (
	// ActionsPath is the plugin route prefix for button clicks; the action
	// name follows it.
	ActionsPath = "/api/v1/actions/"
	// DialogsPath is the plugin route prefix for dialog submissions; the
	// dialog name follows it.
	DialogsPath = "/api/v1/dialogs/"

	ActionUpdate   = "update"
	ActionMitigate = "mitigate"
	ActionResolve  = "resolve"
	ActionReopen   = "reopen"
	ActionSeverity = "severity"
	ActionHotfix   = "hotfix" // the card's Request hotfix: opens DialogHotfix

	// ActionArchiveImport, ActionArchiveImportShared (the rota and the
	// sign-off groups too) and ActionArchiveCancel are the buttons under
	// the preview of an incident archive sent to the bot.
	ActionArchiveImport       = "archiveimport"
	ActionArchiveImportShared = "archiveimportshared"
	ActionArchiveCancel       = "archivecancel"

	DialogStart   = "start"
	DialogUpdate  = "update"
	DialogResolve = "resolve"
	DialogHotfix  = "hotfix"

	// PropIncidentID marks a bot post as belonging to an incident; buttons
	// only act when the post's own prop names the incident.
	PropIncidentID = "incident_id"
	// PropCard marks the incident's card: its buttons act as soon as the
	// post exists, before the incident records which post is its card.
	PropCard = "incident_card"
	// ContextIncidentID is the key of the incident id in a button's context.
	ContextIncidentID = "incident_id"
)

// Role actions. "take" + role code (e.g. "takel2") on the card claims an
// open role; "accept" + role code on a handover post accepts it.
const (
	ActionTakePrefix   = "take"
	ActionAcceptPrefix = "accept"
	// PropHandoverRole marks a handover post with the role it hands over.
	PropHandoverRole = "handover_role"
)

// The rota handoff announcement: its Acknowledge button, and the post prop
// and button context that carry the handoff's key (app.HandoffKey).
const (
	ActionAckHandoff  = "ackhandoff"
	PropHandoffKey    = "handoff_key"
	ContextHandoffKey = "handoff_key"
)

// Status update reminders: "Post update" and one snooze button per period
// ("snooze15" = 15 minutes). PropReminder marks a reminder post.
const (
	ActionRemindUpdate = "remindupdate"
	ActionSnoozePrefix = "snooze"
	PropReminder       = "update_reminder"
)

// A page: its Acknowledge button, and the post prop and button context
// that carry the page's id.
const (
	ActionAckPage = "ackpage"
	PropPageID    = "page_id"
	PropPageLevel = "page_level" // the level of the target a page post went to
	ContextPageID = "page_id"
)

// The hotfix sign-off post: per required group of the current stage an
// Approve and a Reject button (the group and stage ride in the context as
// the choice made, never as authority: the app checks membership), and
// the release manager's Deployed button. PropHotfix carries the hotfix's
// number on the post, as a decimal string, beside PropIncidentID.
// Button ids are the action plus the group's index ("hotfixapprove0"): ids
// must be letters and digits and unique within the post.
const (
	ActionHotfixApprove  = "hotfixapprove"
	ActionHotfixReject   = "hotfixreject"
	ActionHotfixDeployed = "hotfixdeployed"
	PropHotfix           = "hotfix"
	ContextHotfix        = "hotfix"
	ContextGroup         = "group"
	ContextStage         = "stage"
	// DialogHotfixReject asks for a rejection's reason; its state is
	// "<incident id>/<hotfix>/<stage>/<group>".
	DialogHotfixReject = "hotfixreject"
	FieldReason        = "reason"
	FieldDescription   = "description"
	FieldAuthor        = "author"
)

// IncidentsAutocompletePath is the plugin route that lists incidents for
// the command's autocomplete of an incident argument.
const IncidentsAutocompletePath = "/autocomplete/incidents"

// TimeLayout is how posts and command replies show a time.
const TimeLayout = "2006-01-02 15:04 UTC"

// /incident setup: its two dialogs, and the buttons of the steps the bot
// sends the admin by direct message. The dialogs' state and the buttons'
// context carry the rota's name (and the team of the test incident), as
// choices, never as authority: only system admins run the setup.
const (
	DialogSetupChannels = "setupchannels"
	DialogSetupMembers  = "setupmembers"
	ActionSetupMembers  = "setupmembers"
	ActionSetupTest     = "setuptest"
	ContextRota         = "rota"
	ContextTeam         = "team"
	FieldBroadcast      = "broadcast"
	FieldPostmortem     = "postmortem"
	FieldRotaChannel    = "rotachannel"
	FieldHandoffDay     = "day"
	FieldHandoffTime    = "time"
	FieldHandoffZone    = "zone"
	// SetupKeepHandoff is the day option that keeps a handoff spec the
	// dialog cannot show as a day and a time.
	SetupKeepHandoff = "keep"
)

// Shift requests on the rota (app.AnswerShift): a post per request, with
// Take (an offer), Approve and Decline (rota admins) and Withdraw buttons.
// The context names the rota and the request; the app checks who may.
const (
	ActionShiftPrefix = "shift" // + app.ShiftTake, ShiftApprove, ShiftDecline, ShiftWithdraw
	PropShiftRequest  = "shift_request"
	ContextRequest    = "request"
)

// HeartbeatPath is the route a heartbeat's beats come to, its name after
// it; HeartbeatTokenHeader carries its token (or Authorization: Bearer).
const (
	HeartbeatPath        = "/api/v1/heartbeat/"
	HeartbeatTokenHeader = "X-Heartbeat-Token"
)

// AckPath is the route of the signed acknowledge links in pages sent
// beyond the chat, the token after it.
const AckPath = "/ack/"
