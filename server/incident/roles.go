package incident

import (
	"fmt"
	"time"
)

// Handover is a requested change of a role's holder.
type Handover struct {
	To     string    `json:"to"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	PostID string    `json:"post_id,omitempty"` // the post with the accept button
}

// Combinable reports whether one person may hold roles a and b together.
type Combinable func(a, b Role) bool

// RoleOf returns the roles userID holds, in priority order.
func (inc *Incident) RoleOf(userID string) []Role {
	var out []Role
	for _, r := range Roles {
		if userID != "" && inc.Roles[r] == userID {
			out = append(out, r)
		}
	}
	return out
}

// checkSecondRole refuses to give userID role while they hold another role
// it may not be combined with: one person cannot do five jobs in a crisis.
func (inc *Incident) checkSecondRole(userID string, role Role, ok Combinable) error {
	for _, held := range inc.RoleOf(userID) {
		if held == role {
			return Conflictf("%s already holds %s", userRef(userID), role.Title())
		}
		if ok == nil || !ok(held, role) {
			return Conflictf("%s already holds %s, and one person does not hold two roles; hand %s over first with `/incident handover %s @someone`",
				userRef(userID), held.Title(), held.Title(), held)
		}
	}
	return nil
}

// userRef renders a user id in domain text; adapters replace it with a name.
func userRef(id string) string { return "<@" + id + ">" }

// AssignRole gives role to userID directly (a command or the "Take role"
// button). It refuses a second role unless ok allows the pair, and refuses
// to take a held role from someone: that needs a handover, which the new
// holder accepts. When both stand in the way, the refusal names the
// second role first: a handover to someone who holds a role they may not
// combine with it is refused too, so that role must go first.
func (inc *Incident) AssignRole(at time.Time, actor string, role Role, userID, why string, ok Combinable) (Event, error) {
	if inc.Status == StatusResolved {
		return Event{}, Conflictf("incident %s is resolved; `/incident reopen` it first", inc.ShortRef())
	}
	cur := inc.Roles[role]
	if err := inc.checkSecondRole(userID, role, ok); err != nil {
		if cur != "" && cur != userID {
			return Event{}, Conflictf("%s; then, as %s is held by %s, ask for a handover: `/incident handover %s %s`",
				UserMessage(err), role.Title(), userRef(cur), role, userRef(userID))
		}
		return Event{}, err
	}
	if cur != "" && cur != userID {
		return Event{}, Conflictf("%s is held by %s; ask for a handover: `/incident handover %s @someone`", role.Title(), userRef(cur), role)
	}
	at = at.UTC()
	if inc.Roles == nil {
		inc.Roles = map[Role]string{}
	}
	inc.Roles[role], inc.UpdatedAt = userID, at
	delete(inc.RoleNotes, role)
	return NewEvent(at, actor, EventRoleAssigned, "").With(DataRole, string(role)).With(DataTo, userID).With(DataWhy, why), nil
}

// RequestHandover asks userID to take role over from its holder.
func (inc *Incident) RequestHandover(at time.Time, actor string, role Role, userID string, ok Combinable) (Event, error) {
	if inc.Status == StatusResolved {
		return Event{}, Conflictf("incident %s is resolved; `/incident reopen` it first", inc.ShortRef())
	}
	cur := inc.Roles[role]
	if cur == "" {
		return Event{}, Conflictf("nobody holds %s yet: assign it with `/incident role %s @someone`", role.Title(), role)
	}
	if cur == userID {
		return Event{}, Conflictf("%s already holds %s", userRef(userID), role.Title())
	}
	if err := inc.checkSecondRole(userID, role, ok); err != nil {
		return Event{}, err
	}
	at = at.UTC()
	if inc.Handovers == nil {
		inc.Handovers = map[Role]Handover{}
	}
	inc.Handovers[role] = Handover{To: userID, By: actor, At: at}
	inc.UpdatedAt = at
	return NewEvent(at, actor, EventHandoverAsked, "").With(DataRole, string(role)).With(DataFrom, cur).With(DataTo, userID), nil
}

// AcceptHandover completes a handover; only its named new holder may.
func (inc *Incident) AcceptHandover(at time.Time, actor string, role Role, ok Combinable) (Event, error) {
	h, pending := inc.Handovers[role]
	if !pending {
		return Event{}, Conflictf("there is no pending handover of %s", role.Title())
	}
	if actor != h.To {
		return Event{}, Forbiddenf("this handover of %s is for %s; only they can accept it", role.Title(), userRef(h.To))
	}
	if err := inc.checkSecondRole(actor, role, ok); err != nil {
		return Event{}, err
	}
	from := inc.Roles[role]
	at = at.UTC()
	inc.Roles[role], inc.UpdatedAt = actor, at
	delete(inc.Handovers, role)
	delete(inc.RoleNotes, role)
	return NewEvent(at, actor, EventHandoverDone, fmt.Sprintf("requested %s", h.At.Format(time.RFC3339))).
		With(DataRole, string(role)).With(DataFrom, from).With(DataTo, actor), nil
}
