package rota

import (
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Reason says why a role did not go to the person the rota had on duty.
// Values are stable strings: they may be stored in timeline events.
type Reason string

// Reasons for a substitution.
const (
	// ReasonAway: Scheduled is away; UserID is the next member of the
	// role's rota who is not away.
	ReasonAway Reason = "away"
	// ReasonDoubleDuty: Scheduled is on duty for this role and for Kept,
	// which comes first in the policy's priority and cannot be combined
	// with it; Scheduled keeps Kept and UserID is the next eligible member
	// of this role's rota.
	ReasonDoubleDuty Reason = "double_duty"
)

// Substitution records that Role went to someone other than the person
// scheduled for it, and why. It holds user ids; String and Text render it
// (see text.go). An empty UserID means nobody was eligible and the role
// stays open.
type Substitution struct {
	At        time.Time     `json:"at"` // the instant the staffing was computed for
	Role      incident.Role `json:"role"`
	Scheduled string        `json:"scheduled"` // who the rota had on duty for Role
	UserID    string        `json:"user_id,omitempty"`
	Reason    Reason        `json:"reason"`
	Kept      incident.Role `json:"kept,omitempty"` // ReasonDoubleDuty only: the role Scheduled keeps
}

// Staffing is who holds each incident role at an instant.
type Staffing struct {
	At time.Time
	// Holders maps each staffed role to its holder's user id.
	Holders map[incident.Role]string
	// Duties is the rota's answer per role before the roles were made
	// exclusive (OnDuty).
	Duties map[incident.Role]Duty
	// Substitutions lists every role that went to someone other than the
	// rota's first choice: away covers first, then double-duty
	// substitutions, each in priority order.
	Substitutions []Substitution
	// Open lists the roles nobody holds, in priority order.
	Open []incident.Role
	// Warnings lists overrides in effect whose holder is away.
	Warnings []Warning
}

// Assign staffs an incident declared at t: it takes each role's duty
// (OnDuty) and makes the roles exclusive under p.
//
// Roles are exclusive by default. A person on duty for several roles keeps
// the one that comes first in p's priority, plus any others p lets them
// combine with every role they already hold. Each role they give up goes to
// the next eligible member of that role's own rota, cyclically after the
// member on duty (from the week's scheduled member on, when an override
// holder is not a member), where eligible means not away at t and holding no
// role on this incident. Substitutes are chosen only after every on-duty person
// has taken their role, so a substitute is never someone else's on-duty
// member and substitutions do not cascade. If nobody is eligible the role
// stays open.
//
// The result depends only on the arguments: roles are visited in priority
// order and rotas in rota order, never in map order. p should be valid; for
// an invalid one see Policy.order and Policy.CanCombine.
func (r *Rota) Assign(s Schedule, t time.Time, p Policy) Staffing {
	slots := r.slots(s, t)
	order := p.order()
	st := Staffing{
		At:      t,
		Holders: make(map[incident.Role]string, len(order)),
		Duties:  make(map[incident.Role]Duty, len(order)),
	}
	held := make(map[string][]incident.Role) // user id -> roles held, in priority order

	// Phase 1: every on-duty person takes their roles, highest priority
	// first, as far as the policy lets them combine.
	var given []Substitution // roles given up, Kept set, UserID to find
	for _, role := range order {
		sl := slots[role]
		if sl.Source == SourceCover {
			st.Substitutions = append(st.Substitutions, Substitution{At: t, Role: role, Scheduled: sl.For, UserID: sl.UserID, Reason: ReasonAway})
		}
		if sl.UserID == "" {
			continue
		}
		st.Duties[role] = sl.Duty
		u := sl.UserID
		if kept, clash := clashWith(held[u], role, p); clash {
			given = append(given, Substitution{At: t, Role: role, Scheduled: u, Reason: ReasonDoubleDuty, Kept: kept})
			continue
		}
		st.Holders[role] = u
		held[u] = append(held[u], role)
	}

	// Phase 2: each role given up goes to the next eligible member of its
	// own rota.
	for _, sub := range given {
		sl := slots[sub.Role]
		ms := r.members(sub.Role)
		start := sl.pos + 1 // pos -1 (no place in the rota) starts at the top
		for i := range len(ms) {
			c := ms[(start+i)%len(ms)]
			if len(held[c]) == 0 && !r.isAway(c, t) {
				sub.UserID = c
				st.Holders[sub.Role] = c
				held[c] = append(held[c], sub.Role)
				break
			}
		}
		st.Substitutions = append(st.Substitutions, sub)
	}

	for _, role := range order {
		if _, ok := st.Holders[role]; !ok {
			st.Open = append(st.Open, role)
		}
		if d, ok := st.Duties[role]; ok && d.Source == SourceOverride {
			if o, ok := r.override(role, t); ok {
				st.Warnings = append(st.Warnings, r.overrideAway(o, func(a Away) bool { return covers(a.From, a.To, t) })...)
			}
		}
	}
	return st
}

// clashWith returns the first of the held roles that role cannot be
// combined with, if any.
func clashWith(held []incident.Role, role incident.Role, p Policy) (incident.Role, bool) {
	for _, h := range held {
		if !p.CanCombine(h, role) {
			return h, true
		}
	}
	return "", false
}

// Conflicts returns the substitutions that staffing an incident would need
// during the week that contains weekStart: at the week's start and at each
// instant inside the week where an override or away period begins or ends.
// A substitution that persists across such instants is listed once, with
// the first instant it applies at. Editing commands show the result as a
// warning ("saved; note that ..."), so admins see the consequence of an
// edit before an incident does.
//
// Without weeks (no Anchor or no Schedule) or when the schedule has no later
// handoff, the period examined is the 7 days from weekStart.
func (r *Rota) Conflicts(s Schedule, weekStart time.Time, p Policy) []Substitution {
	start, end := weekStart, time.Time{}
	if r.hasWeeks(s) {
		_, start, end = WeekOf(s, r.Anchor, weekStart)
		if start.IsZero() {
			start = weekStart
		}
	}
	if end.IsZero() {
		end = start.AddDate(0, 0, 7)
	}
	checkpoints := []time.Time{start}
	inside := func(t time.Time) {
		if t.After(start) && t.Before(end) {
			checkpoints = append(checkpoints, t)
		}
	}
	for _, o := range r.Overrides {
		inside(o.From)
		inside(o.To)
	}
	for _, a := range r.Away {
		inside(a.From)
		inside(a.To)
	}
	slices.SortFunc(checkpoints, func(a, b time.Time) int { return a.Compare(b) })
	checkpoints = slices.CompactFunc(checkpoints, time.Time.Equal)

	type key struct {
		role              incident.Role
		scheduled, holder string
		reason            Reason
		kept              incident.Role
	}
	seen := make(map[key]bool)
	var out []Substitution
	for _, t := range checkpoints {
		for _, sub := range r.Assign(s, t, p).Substitutions {
			k := key{sub.Role, sub.Scheduled, sub.UserID, sub.Reason, sub.Kept}
			if !seen[k] {
				seen[k] = true
				out = append(out, sub)
			}
		}
	}
	return out
}

// NextEligible returns who stands in for role at t when the person on duty
// may not take it on some occasion (the release manager who made the hotfix
// to release): the next member of the role's rota, cyclically after the
// member on duty (from the top when the holder has no place in it), who is
// not away at t and not excluded. ok is false when nobody is.
func (r *Rota) NextEligible(s Schedule, t time.Time, role incident.Role, excluded func(userID string) bool) (userID string, ok bool) {
	week, hasWeeks := r.weekIndex(s, t)
	sl := r.slot(s, role, t, week, hasWeeks)
	ms := r.members(role)
	for i := range len(ms) {
		c := ms[(sl.pos+1+i)%len(ms)]
		if !r.isAway(c, t) && !excluded(c) {
			return c, true
		}
	}
	return "", false
}
