package rota

import (
	"slices"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Policy says how Assign makes incident roles exclusive. The zero Policy is
// the default: priority incident.Roles (IM, L1, L2, L3, RM) and no role
// combined with another.
type Policy struct {
	// Priority lists all five roles once, most important first. When one
	// person would hold two roles, they keep the earlier one. Empty means
	// incident.Roles.
	Priority []incident.Role `json:"priority,omitempty"`
	// Combinable lists pairs of roles one person may hold together, e.g.
	// {l2, l3}. The incident manager is never combined with first, second
	// or third line: the person coordinating must not also be working the
	// problem.
	Combinable [][2]incident.Role `json:"combinable,omitempty"`
}

// Validate reports the first problem with p as a KindInvalid error: an
// unknown role, a priority list that does not name each of the five roles
// exactly once, a pair of a role with itself, or a pair of the incident
// manager with first, second or third line.
func (p Policy) Validate() error {
	if len(p.Priority) > 0 {
		seen := make(map[incident.Role]bool, len(p.Priority))
		for _, role := range p.Priority {
			if !knownRole(role) {
				return unknownRole(role)
			}
			if seen[role] {
				return incident.Invalidf("the role priority names %s twice; list im, l1, l2, l3 and rm once each", role)
			}
			seen[role] = true
		}
		for _, role := range incident.Roles {
			if !seen[role] {
				return incident.Invalidf("the role priority leaves out %s; list im, l1, l2, l3 and rm once each", role)
			}
		}
	}
	for _, pair := range p.Combinable {
		a, b := pair[0], pair[1]
		for _, role := range pair {
			if !knownRole(role) {
				return unknownRole(role)
			}
		}
		if a == b {
			return incident.Invalidf("a role cannot be combined with itself (%s); name two different roles", a)
		}
		if neverCombined(a, b) {
			return incident.Invalidf("%s cannot be combined with %s: the incident manager coordinates and must not also work the problem",
				a.Title(), b.Title())
		}
	}
	return nil
}

// neverCombined reports whether a and b are the incident manager and a line
// role, a pair no policy may combine.
func neverCombined(a, b incident.Role) bool {
	line := func(r incident.Role) bool {
		return r == incident.RoleL1 || r == incident.RoleL2 || r == incident.RoleL3
	}
	return (a == incident.RoleIM && line(b)) || (b == incident.RoleIM && line(a))
}

// CanCombine reports whether one person may hold a and b together. It is
// false for the incident manager with a line role even if an unvalidated
// policy lists the pair.
func (p Policy) CanCombine(a, b incident.Role) bool {
	if a == b || neverCombined(a, b) {
		return false
	}
	for _, pair := range p.Combinable {
		if (pair[0] == a && pair[1] == b) || (pair[0] == b && pair[1] == a) {
			return true
		}
	}
	return false
}

// order returns the roles in priority order. For robustness with an
// unvalidated policy it drops unknown and repeated roles and appends any
// missing ones in default order, so every role is staffed exactly once.
func (p Policy) order() []incident.Role {
	out := make([]incident.Role, 0, len(incident.Roles))
	for _, role := range p.Priority {
		if knownRole(role) && !slices.Contains(out, role) {
			out = append(out, role)
		}
	}
	for _, role := range incident.Roles {
		if !slices.Contains(out, role) {
			out = append(out, role)
		}
	}
	return out
}
