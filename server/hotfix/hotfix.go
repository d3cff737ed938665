// Package hotfix is the sign-off of hotfixes, as pure domain code: a
// hotfix request on an incident passes two stages, staging and after
// deploy, each signed off by every required group; the release manager
// marks it deployed between them. Four eyes: whoever requested or made
// the fix may neither release it nor sign it off, and one person signs for
// one group per stage.
//
// It imports only the standard library and the incident package; the app
// stores records with compare-and-set and turns the returned events into
// timeline entries.
package hotfix

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// MaxDescriptionRunes bounds a hotfix's description; MaxReasonRunes a
// rejection's or cancellation's reason.
const (
	MaxDescriptionRunes = 2000
	MaxReasonRunes      = 1000
)

// Stage is a sign-off stage; its values are the timeline's DataStage values.
type Stage string

// The two stages, in order.
const (
	StageStaging     Stage = incident.StageStaging
	StageAfterDeploy Stage = incident.StageAfterDeploy
)

// Stages lists the stages in order.
var Stages = []Stage{StageStaging, StageAfterDeploy}

// Title names the stage for people.
func (s Stage) Title() string {
	switch s {
	case StageStaging:
		return "Staging"
	case StageAfterDeploy:
		return "After deploy"
	}
	return string(s)
}

// ParseStage accepts a stage's stored value.
func ParseStage(s string) (Stage, error) {
	if st := Stage(s); slices.Contains(Stages, st) {
		return st, nil
	}
	return "", incident.Invalidf("unknown sign-off stage %q", s)
}

// Status is where a hotfix stands.
type Status string

// Statuses. Staging, Ready and Verifying are active; the others are final.
const (
	StatusStaging   Status = "staging"   // waiting for staging sign-off
	StatusReady     Status = "ready"     // staging signed off; the release manager deploys
	StatusVerifying Status = "verifying" // deployed; waiting for after-deploy sign-off
	StatusDone      Status = "done"      // signed off after deploy
	StatusRejected  Status = "rejected"
	StatusCancelled Status = "cancelled"
)

// Label describes the status for people.
func (s Status) Label() string {
	switch s {
	case StatusStaging:
		return "waiting for staging sign-off"
	case StatusReady:
		return "staging signed off, waiting for the release manager to deploy"
	case StatusVerifying:
		return "deployed, waiting for after-deploy sign-off"
	case StatusDone:
		return "signed off after deploy"
	case StatusRejected:
		return "rejected"
	case StatusCancelled:
		return "cancelled"
	}
	return string(s)
}

// Signoff is one group's verdict on one stage.
type Signoff struct {
	Stage    Stage     `json:"stage"`
	Group    string    `json:"group"`
	UserID   string    `json:"user_id"`
	Approved bool      `json:"approved"`
	Reason   string    `json:"reason,omitempty"` // why it was rejected
	At       time.Time `json:"at"`
}

// Hotfix is one hotfix request on an incident.
type Hotfix struct {
	N           int    `json:"n"` // number within the incident, from 1
	IncidentID  string `json:"incident_id"`
	Description string `json:"description"`
	RequestedBy string `json:"requested_by"`
	// Author made the fix: the requester unless another person was named.
	Author      string    `json:"author"`
	RequestedAt time.Time `json:"requested_at"`
	// ReleaseManager deploys it; RMNote says, in domain text with <@id>
	// references, why it is not the incident's or the week's release
	// manager ("" when it is).
	ReleaseManager string `json:"release_manager"`
	RMNote         string `json:"rm_note,omitempty"`
	// Groups are the groups that sign each stage off, fixed at request
	// time.
	Groups     []string  `json:"groups"`
	Status     Status    `json:"status"`
	Signoffs   []Signoff `json:"signoffs,omitempty"`
	DeployedAt time.Time `json:"deployed_at,omitzero"`
	DeployedBy string    `json:"deployed_by,omitempty"`
	DoneAt     time.Time `json:"done_at,omitzero"`
	// ClosedAt, ClosedBy and ClosedWhy record a rejection or cancellation.
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	ClosedBy  string    `json:"closed_by,omitempty"`
	ClosedWhy string    `json:"closed_why,omitempty"`
	// PageID is the page that called the release manager; PostID the
	// sign-off post, in ChannelID.
	PageID    string `json:"page_id,omitempty"`
	PostID    string `json:"post_id,omitempty"`
	ChannelID string `json:"channel_id,omitempty"`
}

// Fixers are whom four eyes keeps from signing the hotfix off and from
// releasing it: its requester and its author, once each.
func (h *Hotfix) Fixers() []string {
	out := []string{h.RequestedBy}
	if h.Author != "" && h.Author != h.RequestedBy {
		out = append(out, h.Author)
	}
	return out
}

// IsFixer reports whether userID requested or made the hotfix.
func (h *Hotfix) IsFixer(userID string) bool {
	return userID != "" && (userID == h.RequestedBy || userID == h.Author)
}

// fixerRefusal is the KindForbidden error that keeps a fixer from doing
// what ("sign it off", "release it"), with what happens instead.
func (h *Hotfix) fixerRefusal(userID, what, instead string) error {
	if userID == h.Author || h.Author == "" {
		return incident.Forbiddenf("you made this fix, so you may not %s (four eyes): %s", what, instead)
	}
	return incident.Forbiddenf("you requested this fix (made by <@%s>), so you may not %s (four eyes): %s", h.Author, what, instead)
}

// Ref names the hotfix for people: "hotfix 2 on #abc123".
func (h *Hotfix) Ref() string { return fmt.Sprintf("hotfix %d on #%s", h.N, h.IncidentID) }

// Active reports whether the hotfix still moves: not signed off, rejected
// or cancelled.
func (h *Hotfix) Active() bool {
	return h.Status == StatusStaging || h.Status == StatusReady || h.Status == StatusVerifying
}

// Stage is the stage that is being signed off now; "" when none is
// (waiting for the deploy, or finished).
func (h *Hotfix) Stage() Stage {
	switch h.Status {
	case StatusStaging:
		return StageStaging
	case StatusVerifying:
		return StageAfterDeploy
	}
	return ""
}

// Signoff returns group's verdict on stage, if it gave one.
func (h *Hotfix) Signoff(stage Stage, group string) (Signoff, bool) {
	for _, s := range h.Signoffs {
		if s.Stage == stage && s.Group == group {
			return s, true
		}
	}
	return Signoff{}, false
}

// Waiting lists the required groups that have not signed stage off yet.
func (h *Hotfix) Waiting(stage Stage) []string {
	var out []string
	for _, g := range h.Groups {
		if _, ok := h.Signoff(stage, g); !ok {
			out = append(out, g)
		}
	}
	return out
}

// AtStage refuses, as a conflict, a verdict given on seen while the
// hotfix has moved on to another stage (or out of sign-off): a rejection
// typed into a dialog must not land on the next stage. An empty seen
// means the current stage, whatever it is.
func (h *Hotfix) AtStage(seen Stage) error {
	if seen != "" && h.Stage() != seen {
		return incident.Conflictf("%s moved on meanwhile: it is now %s", h.Ref(), h.Status.Label())
	}
	return nil
}

// MaySign reports, as a domain error that says what to do instead, why
// userID may not sign group off on the current stage now; nil if they
// may. Sign applies it; adapters ask it first so that nobody types a
// rejection's reason only to be refused.
func (h *Hotfix) MaySign(userID, group string, groups *Groups) error {
	stage := h.Stage()
	switch {
	case stage == "" && h.Status == StatusReady:
		return incident.Conflictf("%s is signed off in staging and waits for <@%s> to deploy it; after-deploy sign-off opens then", h.Ref(), h.ReleaseManager)
	case stage == "":
		return incident.Conflictf("%s is %s; nothing is left to sign", h.Ref(), h.Status.Label())
	case !slices.Contains(h.Groups, group):
		return incident.Invalidf("%s needs sign-off from %s, not %s", h.Ref(), strings.Join(h.Groups, ", "), group)
	case h.IsFixer(userID):
		return h.fixerRefusal(userID, "sign it off", "another member of "+group+" signs")
	case !groups.IsMember(group, userID):
		who := "nobody"
		if ms := groups.Members[group]; len(ms) > 0 {
			who = describe(ms)
		}
		return incident.Forbiddenf("only members of %s sign for it (%s); ask one of them", group, who)
	}
	if s, ok := h.Signoff(stage, group); ok {
		return incident.Conflictf("%s already signed %s off for %s: <@%s> at %s", group, strings.ToLower(stage.Title()), h.Ref(), s.UserID, s.At.UTC().Format("15:04 UTC"))
	}
	for _, s := range h.Signoffs {
		if s.Stage == stage && s.UserID == userID {
			return incident.Forbiddenf("you already signed %s off for %s; one person signs for one group per stage, so another member of %s signs",
				strings.ToLower(stage.Title()), s.Group, group)
		}
	}
	return nil
}

// Sign records userID's verdict for group on the current stage. groups is
// the current group configuration: membership is checked when signing, so
// a member added during a hotfix can sign at once. It returns the events
// to record: the sign-off, plus the stage's completion when it was the
// last approval. Errors are domain errors that say what to do instead.
func (h *Hotfix) Sign(at time.Time, userID, group string, approve bool, reason string, groups *Groups) ([]incident.Event, error) {
	if err := h.MaySign(userID, group, groups); err != nil {
		return nil, err
	}
	stage := h.Stage()
	if approve {
		reason = "" // only a rejection has a reason
	} else {
		if strings.TrimSpace(reason) == "" {
			return nil, incident.Invalidf("a rejection needs a reason: say what failed, so the fixer knows what to do")
		}
		var err error
		if reason, err = incident.CleanText("reason for the rejection", reason, MaxReasonRunes, true); err != nil {
			return nil, err
		}
	}
	at = at.UTC()
	h.Signoffs = append(h.Signoffs, Signoff{Stage: stage, Group: group, UserID: userID, Approved: approve, Reason: reason, At: at})
	verdict := incident.VerdictApproved
	if !approve {
		verdict = incident.VerdictRejected
		h.Status, h.ClosedAt, h.ClosedBy, h.ClosedWhy = StatusRejected, at, userID, reason
	}
	evs := []incident.Event{h.event(at, userID, incident.EventHotfixSigned, reason).
		With(incident.DataStage, string(stage)).With(incident.DataGroup, group).With(incident.DataVerdict, verdict)}
	if approve && len(h.Waiting(stage)) == 0 {
		if stage == StageStaging {
			h.Status = StatusReady
		} else {
			h.Status, h.DoneAt = StatusDone, at
		}
		evs = append(evs, h.event(at, incident.ActorSystem, incident.EventHotfixStageDone, "").With(incident.DataStage, string(stage)))
	}
	return evs, nil
}

// Deploy records that the release manager deployed the hotfix, which opens
// the after-deploy sign-off.
func (h *Hotfix) Deploy(at time.Time, userID string) (incident.Event, error) {
	switch {
	case h.Status == StatusStaging:
		return incident.Event{}, incident.Conflictf("%s is not signed off in staging yet: waiting for %s", h.Ref(), strings.Join(h.Waiting(StageStaging), ", "))
	case h.Status != StatusReady:
		return incident.Event{}, incident.Conflictf("%s is %s; it cannot be deployed now", h.Ref(), h.Status.Label())
	case h.IsFixer(userID) && userID == h.ReleaseManager:
		// Only a record from before four eyes covered the requester.
		return incident.Event{}, h.fixerRefusal(userID, "release it",
			"cancel it with `/incident hotfix-cancel` and request it again, naming another release manager with `--rm @someone`")
	case h.IsFixer(userID):
		return incident.Event{}, h.fixerRefusal(userID, "release it", fmt.Sprintf("<@%s>, its release manager, deploys it", h.ReleaseManager))
	case userID != h.ReleaseManager:
		return incident.Event{}, incident.Forbiddenf("only the release manager for %s, <@%s>, marks it deployed", h.Ref(), h.ReleaseManager)
	}
	at = at.UTC()
	h.Status, h.DeployedAt, h.DeployedBy = StatusVerifying, at, userID
	return h.event(at, userID, incident.EventHotfixDeployed, ""), nil
}

// Cancel withdraws an active hotfix. Who may cancel is the app's decision.
func (h *Hotfix) Cancel(at time.Time, userID, reason string) (incident.Event, error) {
	if !h.Active() {
		return incident.Event{}, incident.Conflictf("%s is %s; only an active hotfix can be cancelled", h.Ref(), h.Status.Label())
	}
	reason, err := incident.CleanText("reason", reason, MaxReasonRunes, false)
	if err != nil {
		return incident.Event{}, err
	}
	at = at.UTC()
	h.Status, h.ClosedAt, h.ClosedBy, h.ClosedWhy = StatusCancelled, at, userID, reason
	return h.event(at, userID, incident.EventHotfixCancelled, reason), nil
}

// Requested returns the event of the request.
func (h *Hotfix) Requested() incident.Event {
	ev := h.event(h.RequestedAt, h.RequestedBy, incident.EventHotfixRequested, h.Description).
		With(incident.DataAuthor, h.Author).
		With(incident.DataRM, h.ReleaseManager).
		With(incident.DataGroups, strings.Join(h.Groups, ","))
	if h.RMNote != "" {
		ev = ev.With(incident.DataWhy, h.RMNote)
	}
	return ev
}

func (h *Hotfix) event(at time.Time, actor string, typ incident.EventType, text string) incident.Event {
	return incident.NewEvent(at, actor, typ, text).With(incident.DataHotfix, strconv.Itoa(h.N))
}
