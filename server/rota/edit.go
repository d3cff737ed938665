package rota

import (
	"slices"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Editing helpers. Each checks its input and returns a KindInvalid error
// (KindConflict when the thing exists already, KindNotFound when the member
// named is not there) with a message fit to show the admin, leaving the rota
// unchanged on error. Users appear in messages as UserRef (see RenderUsers).
//
// Edits that take a Schedule and an instant at keep whoever is on duty at
// at on duty: a rota edit changes the weeks to come, never the one in
// progress, unless it removes the member on duty.

// SetMembers replaces the rota of role with ids, in rota order; an empty
// list clears it. The member on duty at at stays on duty if still listed;
// if not, the first member after them in the old order who is still listed
// takes over, and the rotation continues from there in the new order. With
// no weeks yet (no Anchor or nil s) ids[0] is on duty in week 0.
//
// It returns the swaps it dropped because they no longer match the rota
// (see Swap), so the caller can tell the admin.
func (r *Rota) SetMembers(role incident.Role, ids []string, s Schedule, at time.Time) ([]Swap, error) {
	if err := checkMembers(role, ids); err != nil {
		return nil, err
	}
	off := 0
	if k, ok := r.weekIndex(s, at); ok && len(ids) > 0 {
		p := 0
		if old := r.Members[role]; len(old) > 0 {
			cur := r.basePos(role, k)
			for i := range old {
				if q := slices.Index(ids, old[(cur+i)%len(old)]); q >= 0 {
					p = q
					break
				}
			}
		}
		off = mod(k-p, len(ids))
	}
	if len(ids) == 0 {
		delete(r.Members, role)
		delete(r.Offset, role)
	} else {
		if r.Members == nil {
			r.Members = make(map[incident.Role][]string)
		}
		if r.Offset == nil {
			r.Offset = make(map[incident.Role]int)
		}
		r.Members[role] = slices.Clone(ids)
		r.Offset[role] = off
	}
	return r.dropStaleSwaps(s), nil
}

// RestartRotation puts role's first member on duty in the week of at,
// and the others after them, one week each, in rota order. It returns the
// swaps it dropped because they no longer fit (see Swap).
func (r *Rota) RestartRotation(role incident.Role, s Schedule, at time.Time) []Swap {
	k, ok := r.weekIndex(s, at)
	if !ok || len(r.Members[role]) == 0 {
		return nil
	}
	r.Offset[role] = mod(k, len(r.Members[role]))
	return r.dropStaleSwaps(s)
}

// AddMember appends id to the end of role's rota (see SetMembers for who
// is on duty afterwards and the swaps returned). KindConflict if id is a
// member already.
func (r *Rota) AddMember(role incident.Role, id string, s Schedule, at time.Time) ([]Swap, error) {
	if !knownRole(role) {
		return nil, unknownRole(role)
	}
	if slices.Contains(r.Members[role], id) {
		return nil, incident.Conflictf("%s is already in the %s rota", UserRef(id), role.Title())
	}
	return r.SetMembers(role, append(slices.Clone(r.Members[role]), id), s, at)
}

// RemoveMember takes id out of role's rota (see SetMembers: if id is on
// duty, the next member takes over now). Swaps of that role involving id
// are dropped and returned. KindNotFound if id is not a member.
func (r *Rota) RemoveMember(role incident.Role, id string, s Schedule, at time.Time) ([]Swap, error) {
	if !knownRole(role) {
		return nil, unknownRole(role)
	}
	ms := r.Members[role]
	i := slices.Index(ms, id)
	if i < 0 {
		return nil, incident.NotFoundf("%s is not in the %s rota", UserRef(id), role.Title())
	}
	return r.SetMembers(role, slices.Delete(slices.Clone(ms), i, i+1), s, at)
}

// AddOverride puts o.UserID on duty for o.Role during [o.From, o.To). It
// returns a Warning for each away period of the holder that overlaps it:
// the override is kept all the same (see Warning).
func (r *Rota) AddOverride(o Override) ([]Warning, error) {
	if err := checkOverride(o); err != nil {
		return nil, err
	}
	if len(r.Overrides) >= MaxEntries {
		return nil, tooMany()
	}
	r.Overrides = append(r.Overrides, o)
	return r.overrideAway(o, func(Away) bool { return true }), nil
}

// EndOverrides ends userID's overrides of role at at: those still to come
// are dropped, one in force ends now. It returns how many it changed.
func (r *Rota) EndOverrides(role incident.Role, userID string, at time.Time) int {
	n := 0
	kept := r.Overrides[:0]
	for _, o := range r.Overrides {
		switch {
		case o.Role != role || o.UserID != userID || !o.To.After(at):
		case !o.From.Before(at):
			n++
			continue
		default:
			o.To = at
			n++
		}
		kept = append(kept, o)
	}
	r.Overrides = kept
	return n
}

// EndAway ends userID's away periods at at: those still to come are
// dropped, one in force ends now. It returns how many it changed.
func (r *Rota) EndAway(userID string, at time.Time) int {
	n := 0
	kept := r.Away[:0]
	for _, a := range r.Away {
		switch {
		case a.UserID != userID || !a.To.After(at):
		case !a.From.Before(at):
			n++
			continue
		default:
			a.To = at
			n++
		}
		kept = append(kept, a)
	}
	r.Away = kept
	return n
}

// AddAway marks a.UserID away during [a.From, a.To). It returns a Warning
// for each override of that user that overlaps it: those overrides stand.
func (r *Rota) AddAway(a Away) ([]Warning, error) {
	if err := checkAway(a); err != nil {
		return nil, err
	}
	if len(r.Away) >= MaxEntries {
		return nil, tooMany()
	}
	r.Away = append(r.Away, a)
	var out []Warning
	for _, o := range r.Overrides {
		if w, ok := overlapWarning(o, a); ok {
			out = append(out, w)
		}
	}
	return out, nil
}

// AddSwap records sw (see Swap for what it means). sw.Week may be any
// instant in A's week; it is stored as the week's start. The week must not
// be over at at, the base rotation must put A on duty in it, B must be a
// member of the role's rota, and neither week may already be part of
// another swap of the role (KindConflict).
func (r *Rota) AddSwap(sw Swap, s Schedule, at time.Time) error {
	if err := checkSwapShape(sw); err != nil {
		return err
	}
	if !r.hasWeeks(s) {
		return incident.Invalidf("the rota has no handoff schedule yet: set one before swapping weeks")
	}
	role := sw.Role.Title()
	for _, id := range []string{sw.A, sw.B} {
		if !slices.Contains(r.Members[sw.Role], id) {
			return incident.Invalidf("%s is not in the %s rota; only members swap weeks", UserRef(id), role)
		}
	}
	if len(r.Swaps) >= MaxEntries {
		return tooMany()
	}
	k, start, end := WeekOf(s, r.Anchor, sw.Week)
	if !end.IsZero() && !end.After(at) {
		return incident.Invalidf("the week of %s is over; swap a current or future week", stamp(start))
	}
	if on := r.Members[sw.Role][r.basePos(sw.Role, k)]; on != sw.A {
		return incident.Invalidf("%s is not on duty for %s in the week of %s (%s is); name the member on duty that week first",
			UserRef(sw.A), role, stamp(start), UserRef(on))
	}
	sw.Week = start
	w, w2, _ := r.swapWeeks(s, sw)
	for _, old := range r.Swaps {
		if old.Role != sw.Role {
			continue
		}
		if ow, ow2, ok := r.swapWeeks(s, old); ok && (ow == w || ow == w2 || ow2 == w || ow2 == w2) {
			return incident.Conflictf("a swap of %s and %s already moves one of these %s weeks; remove it first",
				UserRef(old.A), UserRef(old.B), role)
		}
	}
	r.Swaps = append(r.Swaps, sw)
	return nil
}

// SetHandoff changes the handoff spec to spec, parsed by the caller into
// next; old is the schedule of the current spec (nil if there was none). It
// rejects a schedule that CheckSchedule rejects. The new Anchor is the last
// handoff of next at or before at.
//
// Whoever is on duty at at stays on duty, and the rotation continues in the
// same order, one member per new week. Each swap keeps its distance in weeks
// from the week in progress. Without an old schedule there is nothing to
// continue: the first member of each rota is on duty from the new Anchor
// and every swap is dropped. It returns the swaps it dropped.
func (r *Rota) SetHandoff(spec string, old, next Schedule, at time.Time) ([]Swap, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || next == nil {
		return nil, incident.Invalidf("the handoff is empty: give a schedule such as `CRON_TZ=Europe/Berlin 0 9 * * MON`")
	}
	if err := CheckSchedule(next, at); err != nil {
		return nil, err
	}
	anchor, ok := lastHandoff(next, at)
	if !ok {
		anchor = at
	}
	cur, hasWeeks := r.weekIndex(old, at)

	// Week cur of the old schedule becomes week 0 of the new one: every
	// week index moves by -cur, the swaps' weeks and the offsets alike.
	var dropped, kept []Swap
	for _, sw := range r.Swaps {
		if !hasWeeks {
			dropped = append(dropped, sw)
			continue
		}
		w, _, _ := WeekOf(old, r.Anchor, sw.Week)
		if sw.Week = startOfWeek(next, anchor, w-cur); sw.Week.IsZero() {
			dropped = append(dropped, sw)
			continue
		}
		kept = append(kept, sw)
	}

	offsets := make(map[incident.Role]int, len(r.Members))
	for role, ms := range r.Members {
		if len(ms) == 0 {
			continue
		}
		p := 0
		if hasWeeks {
			p = r.basePos(role, cur)
		}
		offsets[role] = mod(-p, len(ms)) // member p is on duty in the new week 0
	}
	r.Offset = offsets
	r.Handoff, r.Anchor, r.Swaps = spec, anchor, kept
	return append(dropped, r.dropStaleSwaps(next)...), nil
}

// Prune removes entries that ended before before: overrides and away
// periods whose To is not after it, swaps whose second week ended by then
// and swaps that no longer match the rota. It also moves the Anchor forward
// to the start of before's week, adjusting Offset so that nobody's weeks
// change, which keeps WeekOf cheap. Callers pass a time well in the past
// (e.g. 30 days ago) so that recent history stays visible. It returns the
// number of entries removed.
func (r *Rota) Prune(s Schedule, before time.Time) int {
	n := len(r.Overrides) + len(r.Swaps) + len(r.Away)
	r.Overrides = slices.DeleteFunc(r.Overrides, func(o Override) bool { return !o.To.After(before) })
	r.Away = slices.DeleteFunc(r.Away, func(a Away) bool { return !a.To.After(before) })
	if r.hasWeeks(s) {
		if r.Offset == nil {
			r.Offset = make(map[incident.Role]int)
		}
		r.dropStaleSwaps(s)
		r.Swaps = slices.DeleteFunc(r.Swaps, func(sw Swap) bool {
			_, w2, _ := r.swapWeeks(s, sw)
			end := startOfWeek(s, r.Anchor, w2+1)
			return !end.IsZero() && !end.After(before)
		})
		if k, start, _ := WeekOf(s, r.Anchor, before); k > 0 {
			// Week indexes drop by k; so must the offsets, for the same
			// member to stay on duty in the same week.
			for role, ms := range r.Members {
				if len(ms) > 0 {
					r.Offset[role] = mod(r.Offset[role]-k, len(ms))
				}
			}
			r.Anchor = start
		}
	}
	return n - len(r.Overrides) - len(r.Swaps) - len(r.Away)
}

// dropStaleSwaps removes and returns the swaps that no longer apply (see
// Swap) or that share a week with a swap added before them. Without weeks
// it cannot tell and keeps them all.
func (r *Rota) dropStaleSwaps(s Schedule) []Swap {
	if !r.hasWeeks(s) || len(r.Swaps) == 0 {
		return nil
	}
	type week struct {
		role incident.Role
		k    int
	}
	taken := make(map[week]bool)
	var kept, dropped []Swap
	for _, sw := range r.Swaps {
		w, w2, ok := r.swapWeeks(s, sw)
		if !ok || taken[week{sw.Role, w}] || taken[week{sw.Role, w2}] {
			dropped = append(dropped, sw)
			continue
		}
		taken[week{sw.Role, w}], taken[week{sw.Role, w2}] = true, true
		kept = append(kept, sw)
	}
	r.Swaps = kept
	return dropped
}

// Checks shared by the helpers and Validate.

func unknownRole(role incident.Role) error {
	return incident.Invalidf("unknown role %q: use im, l1, l2, l3 or rm", string(role))
}

func tooMany() error {
	return incident.Invalidf("the rota holds %d overrides, swaps or away periods of one kind already; remove old ones first", MaxEntries)
}

func checkMembers(role incident.Role, ids []string) error {
	if !knownRole(role) {
		return unknownRole(role)
	}
	if len(ids) > MaxMembers {
		return incident.Invalidf("the %s rota would have %d members; the limit is %d", role.Title(), len(ids), MaxMembers)
	}
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			return incident.Invalidf("member %d of the %s rota is empty; name each member once", i+1, role.Title())
		}
		if slices.Index(ids, id) < i {
			return incident.Invalidf("%s is named twice in the %s rota; name each member once", UserRef(id), role.Title())
		}
	}
	return nil
}

func checkPeriod(what string, from, to time.Time) error {
	if from.IsZero() || to.IsZero() {
		return incident.Invalidf("the %s needs a start and an end", what)
	}
	if !from.Before(to) {
		return incident.Invalidf("the %s ends (%s) before it starts (%s); give the start first", what, stamp(to), stamp(from))
	}
	return nil
}

func checkOverride(o Override) error {
	if !knownRole(o.Role) {
		return unknownRole(o.Role)
	}
	if strings.TrimSpace(o.UserID) == "" {
		return incident.Invalidf("the override needs the user who covers %s", o.Role.Title())
	}
	return checkPeriod("override", o.From, o.To)
}

func checkAway(a Away) error {
	if strings.TrimSpace(a.UserID) == "" {
		return incident.Invalidf("the away period needs the user who is away")
	}
	return checkPeriod("away period", a.From, a.To)
}

func checkSwapShape(sw Swap) error {
	if !knownRole(sw.Role) {
		return unknownRole(sw.Role)
	}
	if strings.TrimSpace(sw.A) == "" || strings.TrimSpace(sw.B) == "" {
		return incident.Invalidf("a swap needs two members: `swap <role> @on-duty @other <week>`")
	}
	if sw.A == sw.B {
		return incident.Invalidf("%s cannot swap with themselves; name two members", UserRef(sw.A))
	}
	if sw.Week.IsZero() {
		return incident.Invalidf("the swap needs the week: a date in it, e.g. 2026-11-23")
	}
	return nil
}
