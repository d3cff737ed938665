package incident

// Runbook timeline events. Data: DataRunbook and DataVersion on
// EventRunbookAttached; DataStep (the step's number) and DataRole on the
// step events; the text is the step's text (EventStepSkipped: the reason
// goes in DataReason).
const (
	EventRunbookAttached EventType = "runbook_attached"
	EventStepDone        EventType = "step_done"
	EventStepSkipped     EventType = "step_skipped"
	EventStepUndone      EventType = "step_undone"
	EventStepAdded       EventType = "step_added"
	// EventRunbookChanged: the steps added during the incident were
	// applied to the runbook as a new version (DataVersion).
	EventRunbookChanged EventType = "runbook_changed"
)

// Data keys of runbook events.
const (
	DataRunbook = "runbook"
	DataVersion = "version"
	DataStep    = "step"
	DataReason  = "reason"
)

// StepChecklist posts the incident's runbook checklist if it has no post
// yet, else re-renders it, and mentions role holders not yet told about
// their steps.
const StepChecklist StepKind = "checklist"

// RunbookProgress is what the card shows of the incident's runbook
// checklist; the checklist itself is a document of its own.
type RunbookProgress struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Closed  int    `json:"closed"` // steps done or skipped
	Total   int    `json:"total"`
	// Rev is the checklist revision this progress reflects: a commit
	// carrying an older one leaves it.
	Rev int `json:"rev"`
}
