package incident

import "strings"

// Disclosure is how much channels shared beyond an incident's own (the
// broadcast channel, the postmortems channel, the rota channel) see of a
// private incident. A public incident is shown in full everywhere.
type Disclosure string

// Disclosures.
const (
	// DiscloseRedacted shows the id, severity, status and whom to ask,
	// never the title, summary, update text or the postmortem body.
	DiscloseRedacted Disclosure = "redacted"
	// DiscloseFull shows a private incident as a public one.
	DiscloseFull Disclosure = "full"
	// DiscloseNone shows nothing: no broadcast, no postmortem, no page in
	// the rota channel (pages go to the incident channel and by DM).
	DiscloseNone Disclosure = "none"
)

// ParseDisclosure reads a disclosure setting; "" is the default, redacted.
func ParseDisclosure(s string) (Disclosure, error) {
	switch d := Disclosure(strings.ToLower(strings.TrimSpace(s))); d {
	case "":
		return DiscloseRedacted, nil
	case DiscloseRedacted, DiscloseFull, DiscloseNone:
		return d, nil
	}
	return "", Invalidf("%q is not a disclosure: use redacted, full or none", s)
}

// SharedView is inc as channels shared beyond its own may see it under
// policy d (for a private incident; a public one is always seen in full):
// a copy whose Shared field tells the adapters what to leave out.
func (inc *Incident) SharedView(d Disclosure) *Incident {
	c := *inc
	c.Shared = DiscloseFull
	if inc.Private {
		c.Shared = d
	}
	return &c
}

// Redacted reports whether shared channels must not see inc's details.
func (inc *Incident) Redacted() bool { return inc.Shared == DiscloseRedacted }

// Contact is whom outsiders ask about inc: its incident manager, else
// whoever started it.
func (inc *Incident) Contact() string {
	if u := inc.Roles[RoleIM]; u != "" {
		return u
	}
	return inc.CreatedBy
}
