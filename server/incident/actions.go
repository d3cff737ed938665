package incident

import (
	"time"
	"unicode/utf8"
)

// MaxActionItems bounds an incident's action items; a postmortem with more
// has stopped being a plan.
const MaxActionItems = 100

// ActionItem is a follow-up task from an incident.
type ActionItem struct {
	N      int       `json:"n"` // from 1, stable: items are never renumbered
	Text   string    `json:"text"`
	Owner  string    `json:"owner,omitempty"` // user id
	Due    time.Time `json:"due,omitzero"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Done   bool      `json:"done,omitempty"`
	DoneAt time.Time `json:"done_at,omitzero"`
	DoneBy string    `json:"done_by,omitempty"`
}

// ActionItems is an incident's list of action items.
type ActionItems struct {
	Items []ActionItem `json:"items"`
}

// Add appends a new item and returns it.
func (l *ActionItems) Add(at time.Time, by, text, owner string, due time.Time) (ActionItem, error) {
	text, err := CleanText("action item", text, 500, true)
	if err != nil {
		return ActionItem{}, err
	}
	if len(l.Items) >= MaxActionItems {
		return ActionItem{}, Conflictf("this incident has %d action items already, the most it can have", MaxActionItems)
	}
	n := 1
	if k := len(l.Items); k > 0 {
		n = l.Items[k-1].N + 1
	}
	it := ActionItem{N: n, Text: text, Owner: owner, Due: due.UTC(), By: by, At: at.UTC()}
	l.Items = append(l.Items, it)
	return it, nil
}

// Done marks item n done.
func (l *ActionItems) Done(at time.Time, by string, n int) (ActionItem, error) {
	for i := range l.Items {
		if l.Items[i].N != n {
			continue
		}
		if l.Items[i].Done {
			return ActionItem{}, Conflictf("action item %d is already done", n)
		}
		l.Items[i].Done, l.Items[i].DoneAt, l.Items[i].DoneBy = true, at.UTC(), by
		return l.Items[i], nil
	}
	return ActionItem{}, NotFoundf("no action item %d: `/incident action list` shows the numbers", n)
}

// Open counts the items not done.
func (l *ActionItems) Open() int {
	n := 0
	for _, it := range l.Items {
		if !it.Done {
			n++
		}
	}
	return n
}

// CleanImpact validates the impact statement.
func CleanImpact(s string) (string, error) {
	s, err := CleanText("impact", s, MaxSummaryRunes, true)
	if err == nil && utf8.RuneCountInString(s) == 0 {
		return "", Invalidf("the impact is empty")
	}
	return s, err
}
