package incident

import (
	"strings"
	"testing"
)

// TestIMAskingForAHeldLineRoleIsToldToHandOverIMFirst: the incident
// manager asking for second line, which someone else holds, is told first
// to hand the IM role over (a handover of the line role to them would be
// refused while they hold it), then how to get the line role.
func TestIMAskingForAHeldLineRoleIsToldToHandOverIMFirst(t *testing.T) {
	inc := started(t, S2)
	inc.Roles = map[Role]string{RoleIM: "ian", RoleL2: "lea"}
	exclusive := func(a, b Role) bool { return false }
	_, err := inc.AssignRole(t0, "ian", RoleL2, "ian", "take", exclusive)
	msg := UserMessage(err)
	first, then := strings.Index(msg, "`/incident handover im @someone`"), strings.Index(msg, "`/incident handover l2 <@ian>`")
	if KindOf(err) != KindConflict || first < 0 || then < first || !strings.Contains(msg, "already holds Incident manager") {
		t.Fatalf("refusal %q: want hand over IM first, then ask for second line", msg)
	}
	// The advice works: once IM is handed over, the handover of second
	// line to ian is accepted.
	if _, err := inc.RequestHandover(t0, "ian", RoleL2, "ian", exclusive); err == nil {
		t.Fatal("handover to the IM accepted while they hold IM")
	}
	inc.Roles[RoleIM] = "ada"
	if _, err := inc.RequestHandover(t0, "ian", RoleL2, "ian", exclusive); err != nil {
		t.Fatalf("handover after IM moved on: %v", err)
	}
	// With only the holder in the way, the advice is the handover.
	other := started(t, S2)
	other.Roles = map[Role]string{RoleL2: "lea"}
	if _, err := other.AssignRole(t0, "bob", RoleL2, "bob", "take", exclusive); !strings.Contains(UserMessage(err), "is held by <@lea>; ask for a handover") {
		t.Errorf("held role: %v", err)
	}
}
