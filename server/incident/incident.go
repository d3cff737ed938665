package incident

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
)

// Limits on user text, in runes. They keep cards, channel names and KV
// values small, and each error message names the limit.
const (
	MaxTitleRunes   = 100
	MaxSummaryRunes = 2000
	MaxTextRunes    = 4000 // status updates and notes
)

// FirstRota names the first rota until an admin names it otherwise: the
// one every installation has.
const FirstRota = "main"

// Incident is the record of one incident. Its timeline is stored separately,
// append-only; the record holds the current state only.
type Incident struct {
	ID              string   `json:"id"`
	Title           string   `json:"title"`
	Summary         string   `json:"summary,omitempty"`
	Severity        Severity `json:"severity"`
	HighestSeverity Severity `json:"highest_severity"`
	Status          Status   `json:"status"`
	Resolution      string   `json:"resolution,omitempty"`
	Impact          string   `json:"impact,omitempty"` // who or what was affected, set by the IM
	TeamID          string   `json:"team_id"`
	// Rota names the rota that staffs and pages the incident ("": the
	// first, for incidents made before rotas had names).
	Rota       string `json:"rota,omitempty"`
	ChannelID  string `json:"channel_id"`
	CardPostID string `json:"card_post_id,omitempty"`
	// CardShown fingerprints what the card shows, as last rendered by the
	// incident's worker: a re-render that would show the same (a status
	// update within the minute the card already shows) is not sent.
	CardShown string `json:"card_shown,omitempty"`
	// Private: the incident's channel is private, so channels shared
	// beyond it see only what the disclosure setting allows.
	Private bool `json:"private,omitempty"`
	// Shared is set on a SharedView only, for the adapters: what shared
	// channels may see. Never stored.
	Shared       Disclosure      `json:"-"`
	CreatedBy    string          `json:"created_by"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	MitigatedAt  time.Time       `json:"mitigated_at,omitzero"`
	ResolvedAt   time.Time       `json:"resolved_at,omitzero"`
	LastUpdateAt time.Time       `json:"last_update_at,omitzero"` // last status update
	RemindedAt   time.Time       `json:"reminded_at,omitzero"`    // last overdue-update reminder
	ReopenedAt   time.Time       `json:"reopened_at,omitzero"`    // last reopen
	SnoozedUntil time.Time       `json:"snoozed_until,omitzero"`  // reminders paused until then
	Roles        map[Role]string `json:"roles,omitempty"`         // role -> user id
	// Handovers are requested role changes waiting for the new holder to
	// accept; until then the current holder stays responsible.
	Handovers map[Role]Handover `json:"handovers,omitempty"`
	// RoleNotes say why a role went to its holder when it was not the
	// rota's first choice (substitutions), in domain text with <@id> refs.
	RoleNotes map[Role]string `json:"role_notes,omitempty"`
	// Outbox holds the follow-up work of committed changes that the worker
	// has not finished yet (see FollowUp); OutboxSeq numbers them.
	Outbox    []FollowUp `json:"outbox,omitempty"`
	OutboxSeq int        `json:"outbox_seq,omitempty"`
	// Lease is held by the worker draining the outbox (see package work).
	Lease cas.Lease `json:"lease,omitzero"`
	// Timer is the due time (Unix ms) of the work-index entry that makes
	// the outbox findable should its committer die; 0 when none does.
	Timer int64 `json:"timer,omitempty"`
	// Started is the highest follow-up number a worker has started on:
	// a later worker looks for the effects of those before making them.
	Started int `json:"started,omitempty"`
	// AlertLink names the alert link document of the alert that opened
	// the incident, if one did: it goes a while after the resolution.
	AlertLink string `json:"alert_link,omitempty"`
	// Runbook is the progress of the incident's runbook checklist, for
	// the card; nil when it follows none.
	Runbook *RunbookProgress `json:"runbook,omitempty"`
	// Revision counts successful writes; stores bump it on every update so
	// that compare-and-set detects a concurrent writer.
	Revision int64 `json:"revision"`
}

// Clone returns a deep copy, so a caller can mutate it without touching a
// value another goroutine holds.
func (inc *Incident) Clone() *Incident {
	c := *inc
	if inc.Roles != nil {
		c.Roles = make(map[Role]string, len(inc.Roles))
		for r, u := range inc.Roles {
			c.Roles[r] = u
		}
	}
	if inc.RoleNotes != nil {
		c.RoleNotes = make(map[Role]string, len(inc.RoleNotes))
		for r, n := range inc.RoleNotes {
			c.RoleNotes[r] = n
		}
	}
	if inc.Handovers != nil {
		c.Handovers = make(map[Role]Handover, len(inc.Handovers))
		for r, h := range inc.Handovers {
			c.Handovers[r] = h
		}
	}
	if inc.Outbox != nil {
		c.Outbox = make([]FollowUp, len(inc.Outbox))
		copy(c.Outbox, inc.Outbox) // follow-ups are never mutated in place
	}
	if inc.Runbook != nil {
		r := *inc.Runbook
		c.Runbook = &r
	}
	return &c
}

// ShortRef is how people name the incident in chat: "#" plus its id.
func (inc *Incident) ShortRef() string { return "#" + inc.ID }

// CleanTitle trims and validates an incident title.
func CleanTitle(s string) (string, error) {
	s = collapseSpace(s)
	if s == "" {
		return "", Invalidf("the title is empty: say in a few words what is broken")
	}
	if n := utf8.RuneCountInString(s); n > MaxTitleRunes {
		return "", Invalidf("the title is %d characters long; keep it to %d and put details in the summary", n, MaxTitleRunes)
	}
	return s, nil
}

// CleanText trims and validates free text (summaries, updates, notes);
// what names the text in the error message.
func CleanText(what, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", Invalidf("the %s is empty: add the text after the command", what)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", Invalidf("the %s is %d characters long; the limit is %d", what, n, max)
	}
	return s, nil
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// Start fills in a new incident's state and returns its first event. The
// caller sets ID, TeamID and ChannelID.
func (inc *Incident) Start(at time.Time, actor string) Event {
	at = at.UTC()
	inc.Status = StatusOpen
	inc.HighestSeverity = inc.Severity
	inc.CreatedBy = actor
	inc.CreatedAt = at
	inc.UpdatedAt = at
	return NewEvent(at, actor, EventStarted, inc.Summary).
		With(DataTo, inc.Severity.String()).
		With("title", inc.Title)
}

// Mitigate marks an open incident mitigated.
func (inc *Incident) Mitigate(at time.Time, actor string) (Event, error) {
	switch inc.Status {
	case StatusMitigated:
		return Event{}, Conflictf("incident %s is already mitigated; `/incident resolve [summary]` when it is fixed", inc.ShortRef())
	case StatusResolved:
		return Event{}, Conflictf("incident %s is resolved; `/incident reopen` it first", inc.ShortRef())
	}
	at = at.UTC()
	inc.Status, inc.MitigatedAt, inc.UpdatedAt = StatusMitigated, at, at
	return NewEvent(at, actor, EventMitigated, "").With(DataFrom, string(StatusOpen)).With(DataTo, string(StatusMitigated)), nil
}

// Resolve marks an active incident resolved with an optional summary.
func (inc *Incident) Resolve(at time.Time, actor, summary string) (Event, error) {
	if inc.Status == StatusResolved {
		return Event{}, Conflictf("incident %s is already resolved", inc.ShortRef())
	}
	from := inc.Status
	at = at.UTC()
	inc.Status, inc.ResolvedAt, inc.UpdatedAt = StatusResolved, at, at
	if inc.MitigatedAt.IsZero() {
		// Resolving fixes the impact too; time to mitigate is then time to resolve.
		inc.MitigatedAt = at
	}
	inc.Resolution = summary
	return NewEvent(at, actor, EventResolved, summary).With(DataFrom, string(from)).With(DataTo, string(StatusResolved)), nil
}

// Reopen brings a resolved incident back to open. The earlier mitigation and
// resolution times are cleared; the timeline keeps them.
func (inc *Incident) Reopen(at time.Time, actor, reason string) (Event, error) {
	if inc.Status != StatusResolved {
		return Event{}, Conflictf("incident %s is %s, not resolved; only a resolved incident can be reopened", inc.ShortRef(), inc.Status)
	}
	at = at.UTC()
	inc.Status, inc.UpdatedAt, inc.ReopenedAt = StatusOpen, at, at
	inc.MitigatedAt, inc.ResolvedAt, inc.Resolution = time.Time{}, time.Time{}, ""
	return NewEvent(at, actor, EventReopened, reason).With(DataFrom, string(StatusResolved)).With(DataTo, string(StatusOpen)), nil
}

// ChangeSeverity sets a new severity on an active incident.
func (inc *Incident) ChangeSeverity(at time.Time, actor string, s Severity) (Event, error) {
	if !s.Valid() {
		return Event{}, Invalidf("unknown severity: use S1, S2, S3 or S4")
	}
	if inc.Status == StatusResolved {
		return Event{}, Conflictf("incident %s is resolved; `/incident reopen` it before changing the severity", inc.ShortRef())
	}
	if s == inc.Severity {
		return Event{}, Conflictf("incident %s is already %s", inc.ShortRef(), s)
	}
	from := inc.Severity
	at = at.UTC()
	inc.Severity, inc.UpdatedAt = s, at
	if s.MoreSevereThan(inc.HighestSeverity) {
		inc.HighestSeverity = s
	}
	return NewEvent(at, actor, EventSeverityChanged, "").With(DataFrom, from.String()).With(DataTo, s.String()), nil
}

// PostUpdate records a status update on an active incident.
func (inc *Incident) PostUpdate(at time.Time, actor, text string) (Event, error) {
	if inc.Status == StatusResolved {
		return Event{}, Conflictf("incident %s is resolved; use `/incident note` to add to its record", inc.ShortRef())
	}
	at = at.UTC()
	inc.LastUpdateAt, inc.UpdatedAt = at, at
	return NewEvent(at, actor, EventStatusUpdate, text), nil
}
