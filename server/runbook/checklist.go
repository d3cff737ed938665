package runbook

import (
	"time"
	"unicode/utf8"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Definition is one version of a runbook. Versions are immutable: saving a
// runbook makes a new version, and an incident keeps the version its
// checklist was made from.
type Definition struct {
	Name        string    `json:"name"`
	Version     int       `json:"version"`
	Description string    `json:"description,omitempty"`
	Markdown    string    `json:"markdown"`
	Steps       []Step    `json:"steps"`
	By          string    `json:"by,omitempty"` // who saved this version
	At          time.Time `json:"at"`
}

// NewDefinition validates a runbook's name, description and Markdown and
// returns it as version 0 (the store numbers versions).
func NewDefinition(name, description, markdown, by string, at time.Time) (Definition, error) {
	name, err := CleanName(name)
	if err != nil {
		return Definition{}, err
	}
	description, err = incident.CleanText("description", collapse(description), MaxDescriptionRune, false)
	if err != nil {
		return Definition{}, err
	}
	steps, err := Parse(markdown)
	if err != nil {
		return Definition{}, err
	}
	return Definition{Name: name, Description: description, Markdown: markdown, Steps: steps, By: by, At: at.UTC()}, nil
}

// Status is where a checklist step stands.
type Status string

// Step statuses.
const (
	StatusOpen    Status = "open"
	StatusDone    Status = "done"
	StatusSkipped Status = "skipped"
)

// Item is a step of an incident's checklist.
type Item struct {
	// N numbers the step from 1; numbers never change.
	N int `json:"n"`
	Step
	Status Status    `json:"status"`
	By     string    `json:"by,omitempty"` // who did or skipped it
	At     time.Time `json:"at,omitzero"`
	Reason string    `json:"reason,omitempty"` // why it was skipped
	// AddedBy is set on a step added during the incident (not in the
	// runbook): a proposed runbook change.
	AddedBy string    `json:"added_by,omitempty"`
	AddedAt time.Time `json:"added_at,omitzero"`
}

// Checklist is an incident's copy of a runbook version, with where each
// step stands.
type Checklist struct {
	Incident string `json:"incident"`
	Runbook  string `json:"runbook"`
	Version  int    `json:"version"`
	Items    []Item `json:"items"`
	// AttachedBy and AttachedAt say who attached the runbook, and when
	// (the actor of a rule is the incident's starter).
	AttachedBy string    `json:"attached_by,omitempty"`
	AttachedAt time.Time `json:"attached_at,omitzero"`
	// Why says how it was attached: "start", "rule: <rule>", "use".
	Why string `json:"why,omitempty"`
	// PostID is the checklist's post in the incident channel.
	PostID string `json:"post_id,omitempty"`
	// Mentioned maps each role whose holder was mentioned for its steps
	// to that holder, so that a holder is mentioned once, and again only
	// when the role changes hands.
	Mentioned map[incident.Role]string `json:"mentioned,omitempty"`
	// Applied is set when the added steps were applied to the runbook,
	// to the version they made.
	Applied int `json:"applied,omitempty"`
	// Applying is held while an admin's Apply is making that version: a
	// second press meanwhile is refused, until its holder's lease was seen
	// standing still (see package work).
	Applying cas.Lease `json:"applying_lease,omitzero"`
	// Rev counts changes; the post shows the latest.
	Rev int `json:"rev"`
}

// NewChecklist makes an incident's checklist from a runbook version.
func NewChecklist(incidentID string, d Definition, by, why string, at time.Time) *Checklist {
	c := &Checklist{Incident: incidentID, Runbook: d.Name, Version: d.Version, AttachedBy: by, AttachedAt: at.UTC(), Why: why}
	for i, s := range d.Steps {
		c.Items = append(c.Items, Item{N: i + 1, Step: s, Status: StatusOpen})
	}
	return c
}

// Item returns step n; KindNotFound if there is none.
func (c *Checklist) Item(n int) (*Item, error) {
	if n < 1 || n > len(c.Items) {
		return nil, incident.NotFoundf("there is no step %d: the checklist has steps 1 to %d", n, len(c.Items))
	}
	return &c.Items[n-1], nil
}

// Done marks step n done by by. A step done or skipped already is a
// conflict (two people pressing at once: one wins).
func (c *Checklist) Done(n int, by string, at time.Time) (Item, error) {
	it, err := c.Item(n)
	if err != nil {
		return Item{}, err
	}
	if err := it.closed(); err != nil {
		return Item{}, err
	}
	it.Status, it.By, it.At, it.Reason = StatusDone, by, at.UTC(), ""
	c.Rev++
	return *it, nil
}

// Skip marks step n skipped by by, for reason (required).
func (c *Checklist) Skip(n int, by, reason string, at time.Time) (Item, error) {
	reason, err := incident.CleanText("reason", collapse(reason), MaxReasonRunes, true)
	if err != nil {
		return Item{}, incident.Invalidf("say why the step is skipped")
	}
	it, err := c.Item(n)
	if err != nil {
		return Item{}, err
	}
	if err := it.closed(); err != nil {
		return Item{}, err
	}
	it.Status, it.By, it.At, it.Reason = StatusSkipped, by, at.UTC(), reason
	c.Rev++
	return *it, nil
}

// Undo opens step n again; it returns the item as it was before.
func (c *Checklist) Undo(n int) (Item, error) {
	it, err := c.Item(n)
	if err != nil {
		return Item{}, err
	}
	if it.Status == StatusOpen {
		return Item{}, incident.Conflictf("step %d is open already", n)
	}
	was := *it
	it.Status, it.By, it.At, it.Reason = StatusOpen, "", time.Time{}, ""
	c.Rev++
	return was, nil
}

// Add appends a step the runbook lacked.
func (c *Checklist) Add(text string, role incident.Role, by string, at time.Time) (Item, error) {
	text = collapse(text)
	if text == "" {
		return Item{}, incident.Invalidf("the step is empty: add its text after the command")
	}
	if text[0] == '[' {
		return Item{}, incident.Invalidf("a step starts with its text; give the role after it, e.g. `step add Freeze deploys rm`")
	}
	if n := utf8.RuneCountInString(text); n > MaxStepRunes {
		return Item{}, incident.Invalidf("the step is %d characters long; the limit is %d", n, MaxStepRunes)
	}
	if len(c.Items) >= MaxSteps {
		return Item{}, incident.Conflictf("the checklist has %d steps, the most it may have", MaxSteps)
	}
	it := Item{N: len(c.Items) + 1, Step: Step{Section: "Added during the incident", Text: text, Role: role},
		Status: StatusOpen, AddedBy: by, AddedAt: at.UTC()}
	c.Items = append(c.Items, it)
	c.Rev++
	return it, nil
}

func (it *Item) closed() error {
	switch it.Status {
	case StatusDone:
		return incident.Conflictf("step %d is done already", it.N)
	case StatusSkipped:
		return incident.Conflictf("step %d was skipped already; undo it first", it.N)
	}
	return nil
}

// Progress counts the steps done or skipped, and all steps.
func (c *Checklist) Progress() (closed, total int) {
	for _, it := range c.Items {
		if it.Status != StatusOpen {
			closed++
		}
	}
	return closed, len(c.Items)
}

// Added lists the steps added during the incident.
func (c *Checklist) Added() []Item {
	var out []Item
	for _, it := range c.Items {
		if it.AddedBy != "" {
			out = append(out, it)
		}
	}
	return out
}

// Propose returns the runbook Markdown with the added steps appended under
// a heading of their own: the proposed next version.
func Propose(markdown string, added []Item) string {
	if len(added) == 0 {
		return markdown
	}
	out := markdown
	if out != "" && out[len(out)-1] != '\n' {
		out += "\n"
	}
	out += "\n## Added during an incident\n"
	for _, it := range added {
		out += "- [ ] "
		if it.Role != "" {
			out += "[" + string(it.Role) + "] "
		}
		out += it.Text + "\n"
	}
	return out
}
