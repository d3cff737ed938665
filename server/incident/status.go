package incident

// Status is where an incident is in its lifecycle.
type Status string

// Statuses. An incident starts open, may be mitigated (impact stopped, cause
// not yet fixed), and ends resolved; a resolved incident can be reopened.
const (
	StatusOpen      Status = "open"
	StatusMitigated Status = "mitigated"
	StatusResolved  Status = "resolved"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusOpen || s == StatusMitigated || s == StatusResolved
}

// Active reports whether the incident still needs people: open or mitigated.
func (s Status) Active() bool { return s == StatusOpen || s == StatusMitigated }

// Label is the human form shown on the card.
func (s Status) Label() string {
	switch s {
	case StatusOpen:
		return "Open"
	case StatusMitigated:
		return "Mitigated"
	case StatusResolved:
		return "Resolved"
	}
	return string(s)
}
