package incident

// Timeline events of paging. A page is one request for someone to respond
// to an incident; it escalates along EscalationChain until acknowledged.
// Each event carries DataPage, DataTarget (the person notified or, for an
// acknowledgement, the page's current target), DataLevel and, when the
// target was paged for a role, DataRole.
const (
	EventPaged            EventType = "paged"             // a page's first notification
	EventPageRenotified   EventType = "page_renotified"   // the current target notified again
	EventPageEscalated    EventType = "page_escalated"    // the page moved to the next level
	EventPageAcknowledged EventType = "page_acknowledged" // someone acknowledged; nothing more is sent
	EventPageClosed       EventType = "page_closed"       // stopped without acknowledgement (incident resolved)
	// EventPageOutside: a page's level went out beyond the chat (DataWay:
	// email or webhook), or failed to; the text says which.
	EventPageOutside EventType = "page_outside"
)

// Data keys of page events.
const (
	DataPage   = "page"   // the page's id
	DataTarget = "target" // user id of the person notified
	DataLevel  = "level"  // escalation level, from 1, in decimal
	DataWay    = "way"    // how a page went beyond the chat: email or webhook
)

// EscalationChain is the order an unacknowledged page escalates in: first
// line, second line, third line, then the incident manager.
var EscalationChain = []Role{RoleL1, RoleL2, RoleL3, RoleIM}

// ChainPos returns role's position in EscalationChain, or -1 for a role
// outside it (the release manager).
func ChainPos(role Role) int {
	for i, r := range EscalationChain {
		if r == role {
			return i
		}
	}
	return -1
}
