package postmortem

import (
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
)

// DataLesson is the Data key that tags a note as a lesson or contributing
// factor for the postmortem: a note event with Data[DataLesson] == "true".
const DataLesson = "lesson"

// ActionItem is a follow-up task agreed in the postmortem.
type ActionItem struct {
	N      int       // its number within the incident, from 1
	Text   string    // what to do (user text)
	Owner  string    // user id of the owner; "" while nobody owns it
	Due    time.Time // zero: no due date; a UTC midnight shows as a date
	Done   bool
	DoneAt time.Time // when it was marked done, if known
}

// Input is everything a postmortem is rendered from.
type Input struct {
	Incident *incident.Incident
	// Timeline is the incident's events, normally in Seq order.
	Timeline []incident.Event
	// Impact says who or what was affected and how (user text).
	Impact  string
	Actions []ActionItem
	// Cadence is the status update target for the incident's severity (0:
	// none).
	Cadence time.Duration
	// Location is the display time zone shown beside UTC in the header;
	// nil shows UTC only.
	Location *time.Location
	// Name turns a user id into what to show, e.g. "@alice"; nil shows
	// "@" + id. It is called once per user.
	Name func(userID string) string
	// Checklist is the incident's runbook checklist; nil: it followed
	// none, and the postmortem has no Runbook section.
	Checklist *runbook.Checklist
	// Now is when the postmortem is rendered: the end of the periods still
	// running in a draft, and the reference for overdue action items. A zero
	// Now measures a draft to its latest event and marks no item overdue.
	Now time.Time
}
