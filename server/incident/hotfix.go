package incident

// Timeline events of hotfix sign-off and release freezes. A hotfix request
// goes through two sign-off stages, staging and after deploy; every
// required group approves each stage, and the release manager marks the
// hotfix deployed between them. Every event names its hotfix by number
// (DataHotfix), from 1 within the incident.
const (
	// EventHotfixRequested: a hotfix was requested. Text is its
	// description; Data: DataHotfix, DataAuthor (who made the fix), DataRM
	// (the release manager for it, "" if none), DataGroups (the required
	// groups, comma-separated, in order) and, when the release manager is
	// not the one the incident or the rota had, DataWhy with the reason
	// in domain text with <@id> references.
	EventHotfixRequested EventType = "hotfix_requested"
	// EventHotfixSigned: a group member signed a stage off. Data:
	// DataHotfix, DataStage, DataGroup, DataVerdict; Text is the reason
	// of a rejection.
	EventHotfixSigned EventType = "hotfix_signed"
	// EventHotfixStageDone: every required group approved the stage
	// (DataHotfix, DataStage). Staging done: ready to deploy; after deploy
	// done: the hotfix is signed off.
	EventHotfixStageDone EventType = "hotfix_stage_done"
	// EventHotfixDeployed: the release manager marked it deployed
	// (DataHotfix).
	EventHotfixDeployed EventType = "hotfix_deployed"
	// EventHotfixCancelled: withdrawn before it was signed off
	// (DataHotfix); Text is the reason, if given.
	EventHotfixCancelled EventType = "hotfix_cancelled"
	// EventFreezeStarted: a release freeze began because this incident is
	// an open S1. EventFreezeEnded: it ended (resolved, downgraded, or the
	// last S1 incident went away). Both are recorded on the incidents that
	// held the freeze.
	EventFreezeStarted EventType = "release_freeze_started"
	EventFreezeEnded   EventType = "release_freeze_ended"
)

// Data keys of hotfix events.
const (
	DataHotfix  = "hotfix"  // the hotfix's number within the incident, in decimal
	DataStage   = "stage"   // "staging" or "after_deploy"
	DataGroup   = "group"   // a sign-off group's name
	DataVerdict = "verdict" // "approved" or "rejected"
	DataAuthor  = "author"  // user id of who made the fix
	DataRM      = "rm"      // user id of the release manager for the hotfix
	DataGroups  = "groups"  // required groups, comma-separated
)

// Values of DataStage and DataVerdict.
const (
	StageStaging     = "staging"
	StageAfterDeploy = "after_deploy"
	VerdictApproved  = "approved"
	VerdictRejected  = "rejected"
)
