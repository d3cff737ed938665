package rota

import (
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Source says why someone is on duty. Values are stable strings: they may be
// stored and shown.
type Source string

// Sources of a duty, in the order of precedence in which they are decided.
const (
	SourceOverride Source = "override" // an override of the role covers the instant
	SourceSwap     Source = "swap"     // a swap gave this member the week; For is the member whose week it was
	SourceRota     Source = "rota"     // the base rotation
	SourceCover    Source = "cover"    // the member scheduled (For) is away; this is the next member not away
)

// Duty is who is on duty for a role at an instant, and why.
type Duty struct {
	UserID string `json:"user_id"`
	Source Source `json:"source"`
	// For is the member this duty stands in for: the member whose week a
	// swap took (SourceSwap), the away member being covered (SourceCover),
	// or the member whose shift was taken (SourceOverride from a shift
	// taken, see shift.go). It is empty otherwise.
	For string `json:"for,omitempty"`
}

// slot is the full answer for one role at one instant: the Duty, whose
// UserID is empty when nobody can cover an away member (For says who), and
// where in the rota a search for a substitute starts.
type slot struct {
	Duty
	pos int // substitutes are sought from index pos+1 of the role's rota on, cyclically
}

// OnDuty returns, for each role, who is on duty at t and why, following the
// precedence in the package documentation. A role is missing from the map
// when nobody is on duty: its rota is empty (or the rota has no Anchor or
// no Schedule) and no override covers t, or every member is away.
//
// This is the rota's answer per role; Assign turns it into an incident's
// staffing, where one person does not hold two roles.
func (r *Rota) OnDuty(s Schedule, t time.Time) map[incident.Role]Duty {
	out := make(map[incident.Role]Duty)
	for role, sl := range r.slots(s, t) {
		if sl.UserID != "" {
			out[role] = sl.Duty
		}
	}
	return out
}

// slots evaluates every role at t.
func (r *Rota) slots(s Schedule, t time.Time) map[incident.Role]slot {
	out := make(map[incident.Role]slot, len(incident.Roles))
	week, hasWeeks := r.weekIndex(s, t)
	for _, role := range incident.Roles {
		out[role] = r.slot(s, role, t, week, hasWeeks)
	}
	return out
}

// hasWeeks reports whether the rota has weeks at all: an Anchor and a
// Schedule to count from it.
func (r *Rota) hasWeeks(s Schedule) bool { return r != nil && s != nil && !r.Anchor.IsZero() }

// weekIndex returns the index of t's week, if the rota has weeks.
func (r *Rota) weekIndex(s Schedule, t time.Time) (int, bool) {
	if !r.hasWeeks(s) {
		return 0, false
	}
	k, _, _ := WeekOf(s, r.Anchor, t)
	return k, true
}

func (r *Rota) slot(s Schedule, role incident.Role, t time.Time, week int, hasWeeks bool) slot {
	ms := r.members(role)
	sl := slot{pos: -1}
	scheduled := "" // the member the rotation or a swap names
	if hasWeeks && len(ms) > 0 {
		sl.pos = r.basePos(role, week)
		sl.Duty = Duty{UserID: ms[sl.pos], Source: SourceRota}
		if d, ok := r.swapAt(s, role, week); ok {
			sl.Duty, sl.pos = d, slices.Index(ms, d.UserID)
		}
		scheduled = sl.UserID
	}
	if o, ok := r.override(role, t); ok {
		// An override stands even if its holder is away: the admin chose
		// them for this period explicitly. Should the holder have to give
		// the role up, substitutes are sought after the holder's place in
		// the rota or, if the holder is not a member, from the scheduled
		// member on: the rota's own choice for the week comes first.
		if p := slices.Index(ms, o.UserID); p >= 0 {
			sl.pos = p
		} else if sl.pos >= 0 {
			sl.pos--
		}
		sl.Duty = Duty{UserID: o.UserID, Source: SourceOverride, For: o.For}
		return sl
	}
	if scheduled == "" || !r.isAway(scheduled, t) {
		return sl
	}
	// The scheduled member is away: the next member in rota order who is
	// not away covers, cyclically.
	sl.Duty = Duty{Source: SourceCover, For: scheduled}
	for i := 1; i < len(ms); i++ {
		p := (sl.pos + i) % len(ms)
		if !r.isAway(ms[p], t) {
			sl.UserID = ms[p]
			sl.pos = p
			break
		}
	}
	return sl
}

// mod is the non-negative remainder, for negative week indexes.
func mod(a, n int) int { return ((a % n) + n) % n }

// basePos is the index in role's rota of the member the base rotation puts
// on duty in week k. The rota must not be empty.
func (r *Rota) basePos(role incident.Role, week int) int {
	return mod(week-r.Offset[role], len(r.Members[role]))
}

// swapWeeks returns the week indexes W and W' that sw exchanges under the
// current rota, or false if the swap no longer applies: A or B is not a
// member, or the base rotation no longer puts A on duty in W.
func (r *Rota) swapWeeks(s Schedule, sw Swap) (w, w2 int, ok bool) {
	ms := r.members(sw.Role)
	a, b := slices.Index(ms, sw.A), slices.Index(ms, sw.B)
	if a < 0 || b < 0 || a == b || !r.hasWeeks(s) {
		return 0, 0, false
	}
	w, _, _ = WeekOf(s, r.Anchor, sw.Week)
	if r.basePos(sw.Role, w) != a {
		return 0, 0, false
	}
	// The rotation advances one member per week, so B's next week after W
	// is (b - a) mod n weeks later: between 1 and n-1.
	return w, w + mod(b-a, len(ms)), true
}

// swapAt returns the duty a swap gives in week k of role, if any. When
// swaps collide on a week, the one added first wins.
func (r *Rota) swapAt(s Schedule, role incident.Role, week int) (Duty, bool) {
	for _, sw := range r.Swaps {
		if sw.Role != role {
			continue
		}
		w, w2, ok := r.swapWeeks(s, sw)
		switch {
		case !ok:
		case week == w:
			return Duty{UserID: sw.B, Source: SourceSwap, For: sw.A}, true
		case week == w2:
			return Duty{UserID: sw.A, Source: SourceSwap, For: sw.B}, true
		}
	}
	return Duty{}, false
}

// SwapWeeks returns the starts of the two weeks sw exchanges under the
// current rota: W, which B takes from A, and W', which A takes from B. It
// reports false if the swap no longer applies (see Swap).
func (r *Rota) SwapWeeks(s Schedule, sw Swap) (w, w2 time.Time, ok bool) {
	k, k2, ok := r.swapWeeks(s, sw)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	return startOfWeek(s, r.Anchor, k), startOfWeek(s, r.Anchor, k2), true
}

// startOfWeek returns the start of week k as WeekOf defines it, or the zero
// time if the schedule has no such week. It costs one step per week between
// the anchor and week k.
func startOfWeek(s Schedule, anchor time.Time, k int) time.Time {
	t := anchor
	for ; k < 0; k++ {
		p, ok := lastHandoff(s, t.Add(-time.Nanosecond))
		if !ok {
			return time.Time{}
		}
		t = p
	}
	for ; k > 0; k-- {
		n, ok := next(s, t)
		if !ok {
			return time.Time{}
		}
		t = n
	}
	return t
}
