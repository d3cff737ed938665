// Package rota is the weekly delivery rota and the staffing of incident
// roles from it, as pure domain code: who is on duty for each role at an
// instant, and who holds each role on an incident once the roles are made
// exclusive.
//
// It imports only the standard library and the incident package. Handoff
// specs ("CRON_TZ=Europe/Berlin 0 9 * * MON") are parsed by an adapter
// (robfig/cron); this package only needs their Next method (see Schedule).
//
// Who holds a role at an instant t is a pure function of the rota, its
// anchor, its overrides, swaps and away periods, resolved in this order of
// precedence:
//
//  1. An override of the role covering t names the holder, even if that
//     person is away (an explicit admin decision stands; see Warning).
//  2. Otherwise the base rotation names the member on duty in t's week,
//     unless a swap exchanges that week (see Swap).
//  3. If the member so named is away at t, the next member of the role's
//     rota, cyclically in rota order, who is not away covers.
//
// All periods are half-open, [From, To): an override or away period ending
// at 09:00 no longer applies at 09:00. Assign then makes the roles exclusive
// (see Policy and Rota.Assign), and every departure from the rota's first
// choice comes with a Substitution saying why.
package rota

import (
	"maps"
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Limits that keep a stored rota document small. Prune removes entries that
// ended; the error messages say so.
const (
	MaxMembers = 100 // per role
	MaxEntries = 500 // overrides, swaps and away periods, each
)

// Rota is the weekly delivery rota: for each role an ordered list of
// members, one of whom is on duty per week, plus the exceptions admins add.
// Weeks are numbered from the Anchor: week 0 starts there, week 1 at the
// next handoff of the Schedule, week -1 at the last handoff before the
// Anchor.
//
// The zero Rota is valid and has nobody on duty. A Rota is not safe for
// concurrent mutation; stores keep it copy-on-write (see Clone).
type Rota struct {
	// Members lists the user ids of each role's rota in rota order.
	Members map[incident.Role][]string `json:"members,omitempty"`
	// Offset is, per role, the week index in which Members[role][0] is on
	// duty (modulo the rota's length). Member edits set it so that the
	// member on duty when the edit is made stays on duty; see SetMembers.
	Offset map[incident.Role]int `json:"offset,omitempty"`
	// Handoff is the handoff spec text, e.g. "CRON_TZ=Europe/Berlin 0 9 *
	// * MON". This package never parses it; the adapter turns it into the
	// Schedule passed to every method.
	Handoff string `json:"handoff,omitempty"`
	// Anchor is the instant week 0 starts: a handoff instant, set when the
	// handoff is set or changed (SetHandoff) and moved forward by Prune,
	// both without changing anyone's weeks. A zero Anchor means the rota
	// has no weeks yet: only overrides put anyone on duty.
	Anchor    time.Time  `json:"anchor,omitzero"`
	Overrides []Override `json:"overrides,omitempty"`
	Swaps     []Swap     `json:"swaps,omitempty"`
	Away      []Away     `json:"away,omitempty"`
	// ChannelID is the channel where the rota's handoffs are announced.
	ChannelID string `json:"channel_id,omitempty"`
	// Escalation is how the rota's pages escalate; zero: the settings'
	// timeouts, the chain once, no last step.
	Escalation Escalation `json:"escalation,omitzero"`
	// Approval: a member taking a shift needs a rota admin's approval.
	Approval bool `json:"approval,omitempty"`
	// DutyNotice: at each handoff, the people on duty the week after are
	// told by direct message.
	DutyNotice bool `json:"duty_notice,omitempty"`
	// Requests are the shifts waiting to change hands (see shift.go).
	Requests []ShiftRequest `json:"requests,omitempty"`
	// History is what changed on the rota, oldest first, bounded.
	History []Change `json:"history,omitempty"`
	// Revision counts successful writes, for compare-and-set in stores.
	Revision int64 `json:"revision"`
}

// Escalation is a rota's escalation policy: how long a page waits at each
// level per severity, how many times the chain runs again after its end
// (PagerDuty's and Opsgenie's repeat), and who is paged last, one after
// another, when nobody has answered.
type Escalation struct {
	// Timeouts override the settings' per severity; 0 stops a severity
	// from paging at all.
	Timeouts map[incident.Severity]time.Duration `json:"timeouts,omitempty"`
	Repeat   int                                 `json:"repeat,omitempty"`
	// Last is LastAll (every member of the rota), LastPeople (People) or
	// "" (nobody).
	Last   string   `json:"last,omitempty"`
	People []string `json:"people,omitempty"`
	// OutsideOff stops pages going out beyond the chat (email, webhooks)
	// for people who registered a way; otherwise each level's page goes
	// out that way OutsideAfter after it was posted without an
	// acknowledgement (0: at once).
	OutsideOff   bool          `json:"outside_off,omitempty"`
	OutsideAfter time.Duration `json:"outside_after,omitempty"`
}

// The last steps of an escalation policy.
const (
	LastAll    = "all"
	LastPeople = "people"
)

// MaxRepeat bounds how many times a chain runs again.
const MaxRepeat = 5

// LastStep returns who the policy pages last, in order, without repeats.
func (r *Rota) LastStep() []string {
	var out []string
	add := func(u string) {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	switch r.Escalation.Last {
	case LastAll:
		for _, role := range incident.EscalationChain {
			for _, u := range r.Members[role] {
				add(u)
			}
		}
		for _, role := range incident.Roles {
			for _, u := range r.Members[role] {
				add(u)
			}
		}
	case LastPeople:
		for _, u := range r.Escalation.People {
			add(u)
		}
	}
	return out
}

// Override puts UserID on duty for Role during [From, To), whatever the
// rotation, swaps or away periods say. The holder need not be a member of
// the role's rota. When overrides of one role overlap, the one added last
// wins: it is the most recent admin decision.
type Override struct {
	Role   incident.Role `json:"role"`
	UserID string        `json:"user_id"`
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to"`
	By     string        `json:"by,omitempty"` // the admin who set it
	// For is the member whose shift this was, when a member took it
	// (see shift.go); "" for an admin's override.
	For string `json:"for,omitempty"`
}

// Swap exchanges two members' weeks in one role's rota.
//
// Week is the start of week W, in which the base rotation puts A on duty
// (AddSwap normalises any instant in the week to its start). Let W' be the
// first week after W in which the base rotation puts B on duty. Then B is on
// duty in W and A is on duty in W'; every other week is unchanged. Each
// member still does the same number of weeks.
//
// The weeks are recomputed from the current rota whenever it is read, so a
// swap only applies while A and B are both members and the base rotation
// still puts A on duty in W; member edits drop swaps that no longer do and
// report them. Swaps of one role never share a week (AddSwap refuses it);
// should edits make them, the swap added first wins.
type Swap struct {
	Role incident.Role `json:"role"`
	A    string        `json:"a"`    // on duty in Week by the rotation; gives it to B
	B    string        `json:"b"`    // takes Week; gives A their next week after it
	Week time.Time     `json:"week"` // the start of A's week W
	By   string        `json:"by,omitempty"`
}

// Away marks UserID unavailable during [From, To) for every role. The rota
// member on duty then is covered by the next member of that role's rota who
// is not away; an override holder stays on duty (see Warning).
type Away struct {
	UserID string    `json:"user_id"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	By     string    `json:"by,omitempty"`
}

// covers reports whether the half-open period [from, to) contains t.
func covers(from, to, t time.Time) bool { return !t.Before(from) && t.Before(to) }

// Clone returns a deep copy, so a caller can edit it without touching a
// value another goroutine holds.
func (r *Rota) Clone() *Rota {
	c := *r
	if r.Members != nil {
		c.Members = make(map[incident.Role][]string, len(r.Members))
		for role, ids := range r.Members {
			c.Members[role] = slices.Clone(ids)
		}
	}
	c.Offset = maps.Clone(r.Offset)
	c.Overrides = slices.Clone(r.Overrides)
	c.Swaps = slices.Clone(r.Swaps)
	c.Away = slices.Clone(r.Away)
	c.Requests = slices.Clone(r.Requests)
	c.History = slices.Clone(r.History)
	return &c
}

// members returns the rota of role; nil-safe.
func (r *Rota) members(role incident.Role) []string {
	if r == nil {
		return nil
	}
	return r.Members[role]
}

// isAway reports whether userID is away at t.
func (r *Rota) isAway(userID string, t time.Time) bool {
	if r == nil {
		return false
	}
	for _, a := range r.Away {
		if a.UserID == userID && covers(a.From, a.To, t) {
			return true
		}
	}
	return false
}

// override returns the override of role in effect at t: the last one added
// whose period contains t.
func (r *Rota) override(role incident.Role, t time.Time) (Override, bool) {
	if r == nil {
		return Override{}, false
	}
	for i := len(r.Overrides) - 1; i >= 0; i-- {
		if o := r.Overrides[i]; o.Role == role && covers(o.From, o.To, t) {
			return o, true
		}
	}
	return Override{}, false
}

// knownRole reports whether role is one of the five incident roles.
func knownRole(role incident.Role) bool { return slices.Contains(incident.Roles, role) }

// Validate checks a whole rota, e.g. one read from storage or an import:
// known roles, unique non-empty member ids and well-formed entries. It
// returns a KindInvalid error naming the first problem.
func (r *Rota) Validate() error {
	for _, role := range slices.Sorted(maps.Keys(r.Members)) {
		if err := checkMembers(role, r.Members[role]); err != nil {
			return err
		}
	}
	for _, role := range slices.Sorted(maps.Keys(r.Offset)) {
		if !knownRole(role) {
			return unknownRole(role)
		}
	}
	for _, o := range r.Overrides {
		if err := checkOverride(o); err != nil {
			return err
		}
	}
	for _, sw := range r.Swaps {
		if err := checkSwapShape(sw); err != nil {
			return err
		}
	}
	for _, a := range r.Away {
		if err := checkAway(a); err != nil {
			return err
		}
	}
	if len(r.Overrides) > MaxEntries || len(r.Swaps) > MaxEntries || len(r.Away) > MaxEntries {
		return tooMany()
	}
	return nil
}
