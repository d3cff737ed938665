package incident

import "strings"

// Role is a job on an incident. The five roles go to five different people
// unless an admin allows a specific pair to be combined.
type Role string

// Roles in their default priority order: when one person would hold two,
// they keep the earlier one.
const (
	RoleIM Role = "im" // incident manager
	RoleL1 Role = "l1" // first line
	RoleL2 Role = "l2" // second line
	RoleL3 Role = "l3" // third line
	RoleRM Role = "rm" // release manager
)

// Roles lists every role in default priority order.
var Roles = []Role{RoleIM, RoleL1, RoleL2, RoleL3, RoleRM}

// ParseRole accepts the short code ("im", "l1") or the long name
// ("incident-manager", "first-line"), in any case.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "im", "incident-manager", "incident_manager", "manager":
		return RoleIM, nil
	case "l1", "first-line", "first_line":
		return RoleL1, nil
	case "l2", "second-line", "second_line":
		return RoleL2, nil
	case "l3", "third-line", "third_line":
		return RoleL3, nil
	case "rm", "release-manager", "release_manager":
		return RoleRM, nil
	}
	return "", Invalidf("unknown role %q: use im, l1, l2, l3 or rm", s)
}

// Title is the human name of the role.
func (r Role) Title() string {
	switch r {
	case RoleIM:
		return "Incident manager"
	case RoleL1:
		return "First line"
	case RoleL2:
		return "Second line"
	case RoleL3:
		return "Third line"
	case RoleRM:
		return "Release manager"
	}
	return string(r)
}
