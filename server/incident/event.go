package incident

import "time"

// EventType names what happened. Types are stable strings: they are stored
// in timelines and must keep their meaning forever.
type EventType string

// Timeline event types.
const (
	EventStarted         EventType = "started"
	EventStatusUpdate    EventType = "status_update"
	EventNote            EventType = "note"
	EventSeverityChanged EventType = "severity_changed"
	EventMitigated       EventType = "mitigated"
	EventResolved        EventType = "resolved"
	EventReopened        EventType = "reopened"
	EventTitleChanged    EventType = "title_changed"
	EventRoleAssigned    EventType = "role_assigned"
	EventRoleSubstituted EventType = "role_substituted"
	EventRoleOpen        EventType = "role_open"
	EventHandoverAsked   EventType = "handover_requested"
	EventHandoverDone    EventType = "handover_accepted"
	EventUpdateReminder  EventType = "update_reminder"
	EventUpdateSnoozed   EventType = "update_snoozed"
	EventImpactSet       EventType = "impact_set"
	EventActionAdded     EventType = "action_added"
	EventActionDone      EventType = "action_done"
	EventPostmortem      EventType = "postmortem_posted"
	EventRotaChanged     EventType = "rota_changed" // DataFrom, DataTo: the rotas' names
)

// Data keys used by typed events.
const (
	DataFrom = "from" // previous value (severity, status, holder)
	DataTo   = "to"   // new value
	DataRole = "role" // the role concerned
	DataWhy  = "why"  // how a role was filled: rota, override, swap, cover, substitute, manual, take
	// DataOverdue is how late a status update or reminder is, as a Go
	// duration ("12m30s").
	DataOverdue = "overdue"
	// DataRota names the rota that staffs the incident, on its start.
	DataRota = "rota"
)

// ActorSystem is the actor of events the bot causes on its own (timers,
// escalations).
const ActorSystem = "system"

// BotName is how every place (posts, replies, the timeline, the
// postmortem) shows the bot as an actor: ActorSystem, and the bot's own
// account, which acts for alerts, alike.
const BotName = "the bot"

// Event is one entry on an incident's append-only timeline.
type Event struct {
	// Seq is the event's position on its timeline, from 0, assigned by the
	// store on append.
	Seq   int               `json:"seq"`
	At    time.Time         `json:"at"` // UTC
	Actor string            `json:"actor"`
	Type  EventType         `json:"type"`
	Text  string            `json:"text,omitempty"`
	Data  map[string]string `json:"data,omitempty"`
	// Key, when set, identifies the event across retries of its append:
	// a worker that cannot tell whether an earlier attempt landed looks
	// for it on the timeline before appending again.
	Key string `json:"key,omitempty"`
}

// NewEvent builds an event at t (stored in UTC).
func NewEvent(t time.Time, actor string, typ EventType, text string) Event {
	return Event{At: t.UTC(), Actor: actor, Type: typ, Text: text}
}

// With returns a copy of e with the data key k set to v.
func (e Event) With(k, v string) Event {
	d := make(map[string]string, len(e.Data)+1)
	for key, val := range e.Data {
		d[key] = val
	}
	d[k] = v
	e.Data = d
	return e
}
