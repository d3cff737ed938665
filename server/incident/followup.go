package incident

import (
	"strconv"
	"time"
)

// FollowUp is the work a committed change still owes: the timeline events
// it caused and the effects around them (the card, announcements, pages,
// the postmortem). A change stores its follow-up in the incident record in
// the same compare-and-set as the change itself, so that nothing a change
// implies is lost when the process dies right after committing; the app's
// worker then does the steps, each exactly once in effect, and removes the
// follow-up from the record.
type FollowUp struct {
	// ID is unique within the incident ("1", "2", ...); with the incident
	// id it keys every effect of the follow-up, so a retry can recognise
	// what an earlier attempt already did.
	ID string `json:"id"`
	// At is when the change was committed.
	At time.Time `json:"at"`
	// Events go onto the timeline first, in order.
	Events []Event `json:"events,omitempty"`
	// Steps run after the events, in order.
	Steps []Step `json:"steps,omitempty"`
	// Tries counts the attempts at it that failed; after work.MaxTries it
	// is set aside as a dead letter, so that it holds up nothing else.
	Tries int `json:"tries,omitempty"`
	// RetryAt is when a failed follow-up may be tried again.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// Retry: its effects may have been made before (its events carry keys
	// of their own, or it is owed again), so the worker looks for them
	// before making them.
	Retry bool `json:"retry,omitempty"`
	// Origin names where a follow-up owed by another document came from
	// ("hotfix/v1/<id>#3"): its steps are keyed by it, so that it is done
	// once however often it is handed over.
	Origin string `json:"origin,omitempty"`
}

// StepKind names an effect of a follow-up. Kinds are stored: their meaning
// must stay.
type StepKind string

// Step kinds. The worker in package app knows how to do each.
const (
	StepCard       StepKind = "card"        // post the card if it has none, else re-render it
	StepAnnounce   StepKind = "announce"    // announce the start in the broadcast channel
	StepPublish    StepKind = "publish"     // post Events[Event] where its type belongs
	StepJoin       StepKind = "join"        // add User to the incident channel
	StepPageStart  StepKind = "page_start"  // page the first line of a new incident
	StepFreeze     StepKind = "freeze"      // bring the release freeze up to date with this incident
	StepPostmortem StepKind = "postmortem"  // post the postmortem, asked for by User
	StepRemind     StepKind = "remind"      // remind User that a status update is overdue
	StepSummary    StepKind = "summary"     // store (or drop, when reopened) the incident's stats summary
	StepClosePages StepKind = "close_pages" // close the resolved incident's open pages and note why on the timeline
	StepIndex      StepKind = "index"       // put a new incident into the listings' indexes (Store.IndexIncident)
	StepForget     StepKind = "forget"      // schedule the cleanup of what a resolved incident no longer needs (its alert link)
	StepHandover   StepKind = "handover"    // post the handover of role Value to User, with its accept button, and link the post
	StepHandedOver StepKind = "handed_over" // close the accepted handover's post Value (role and post id, "l1:post") for User
	// Hotfix steps: Value is the hotfix's number.
	StepHotfixPost   StepKind = "hotfix_post"   // post the hotfix's sign-off post, once, and link it
	StepHotfixPage   StepKind = "hotfix_page"   // page the hotfix's release manager, once, and link the page
	StepHotfixRender StepKind = "hotfix_render" // re-render the sign-off post
	StepHotfixNotice StepKind = "hotfix_notice" // tell people about Events[Event]
	StepHotfixEnded  StepKind = "hotfix_ended"  // close the release manager's page of a hotfix that ended without them
)

// Step is one effect of a follow-up.
type Step struct {
	Kind StepKind `json:"kind"`
	// Event indexes the follow-up's Events (StepPublish).
	Event int `json:"event,omitempty"`
	// User is the person the step concerns (StepJoin, StepRemind,
	// StepPostmortem).
	User string `json:"user,omitempty"`
	// Value is a step's parameter (StepRemind: the cadence, a Go duration).
	Value string `json:"value,omitempty"`
}

// OutboxBytes bounds the encoded size of an incident's outbox: a change
// that would grow it past this is not refused, but its committer first
// helps the worker drain it (see app.commit), so that the record, which
// every compare-and-set ships whole, stays small.
const OutboxBytes = 256 << 10

// Owe adds a follow-up with events and steps to the incident's outbox and
// returns it. The events get their idempotency keys here. It is called
// inside a store mutate function, so it must stay free of side effects. It
// never refuses: a busy worker is no reason to turn people away.
func (inc *Incident) Owe(at time.Time, events []Event, steps ...Step) FollowUp {
	inc.OutboxSeq++
	f := FollowUp{ID: strconv.Itoa(inc.OutboxSeq), At: at.UTC(), Steps: steps}
	for i, e := range events {
		e.Key = inc.ID + "/" + f.ID + "/" + strconv.Itoa(i)
		f.Events = append(f.Events, e)
	}
	inc.Outbox = append(inc.Outbox, f)
	return f
}

// Num is the follow-up's number: follow-ups of an incident are numbered
// in the order they were owed.
func (f FollowUp) Num() int {
	n, _ := strconv.Atoi(f.ID)
	return n
}

// Settle removes the follow-up with id from the outbox; it reports whether
// it was there.
func (inc *Incident) Settle(id string) bool {
	for i, f := range inc.Outbox {
		if f.ID == id {
			inc.Outbox = append(inc.Outbox[:i:i], inc.Outbox[i+1:]...)
			return true
		}
	}
	return false
}
