package hotfix

import (
	"fmt"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// MaxPerIncident bounds the hotfixes of one incident, so that its record
// stays a small document.
const MaxPerIncident = 20

// Book is the record of an incident's hotfixes, in number order. At most
// one is active at a time: a second fix for the same incident waits until
// the first is signed off, rejected or cancelled, so that every sign-off
// and deploy is unambiguous.
type Book struct {
	Hotfixes []*Hotfix `json:"hotfixes,omitempty"`
	Revision int64     `json:"revision"`
}

// Active returns the active hotfix, or nil.
func (b *Book) Active() *Hotfix {
	for _, h := range b.Hotfixes {
		if h.Active() {
			return h
		}
	}
	return nil
}

// Get returns hotfix n; n 0 means the active one, else the latest.
func (b *Book) Get(n int) (*Hotfix, error) {
	if n == 0 {
		if h := b.Active(); h != nil {
			return h, nil
		}
		if len(b.Hotfixes) > 0 {
			return b.Hotfixes[len(b.Hotfixes)-1], nil
		}
		return nil, incident.NotFoundf("this incident has no hotfix request: `/incident hotfix <description>` opens one")
	}
	for _, h := range b.Hotfixes {
		if h.N == n {
			return h, nil
		}
	}
	return nil, incident.NotFoundf("this incident has no hotfix %d", n)
}

// Open adds h as the next hotfix, numbering it; it refuses while another
// is active.
func (b *Book) Open(h *Hotfix) error {
	if a := b.Active(); a != nil {
		return incident.Conflictf("%s is still %s: finish it, or cancel it with `/incident hotfix-cancel <reason>`, before requesting another",
			a.Ref(), a.Status.Label())
	}
	if len(b.Hotfixes) >= MaxPerIncident {
		return incident.Conflictf("this incident already has %d hotfix requests, the limit", MaxPerIncident)
	}
	h.N = len(b.Hotfixes) + 1
	if last := len(b.Hotfixes); last > 0 {
		h.N = b.Hotfixes[last-1].N + 1
	}
	h.Status = StatusStaging
	b.Hotfixes = append(b.Hotfixes, h)
	b.Revision++
	return nil
}

// Drop removes hotfix n, which must not have moved since it was opened:
// the undo of a request whose sign-off post could not be made.
func (b *Book) Drop(n int) {
	for i, h := range b.Hotfixes {
		if h.N == n && h.Status == StatusStaging && len(h.Signoffs) == 0 {
			b.Hotfixes = append(b.Hotfixes[:i], b.Hotfixes[i+1:]...)
			b.Revision++
			return
		}
	}
}

// Request is what a new hotfix starts from.
type Request struct {
	IncidentID  string
	Description string
	RequestedBy string
	Author      string // "" = RequestedBy
	At          time.Time
	Groups      []string
}

// New validates r and returns the hotfix it asks for, without a number or
// release manager yet.
func New(r Request) (*Hotfix, error) {
	if strings.TrimSpace(r.Description) == "" {
		return nil, incident.Invalidf("describe the fix: `/incident hotfix <what it changes>`")
	}
	desc, err := incident.CleanText("hotfix description", r.Description, MaxDescriptionRunes, true)
	if err != nil {
		return nil, err
	}
	author := r.Author
	if author == "" {
		author = r.RequestedBy
	}
	return &Hotfix{IncidentID: r.IncidentID, Description: desc, RequestedBy: r.RequestedBy, Author: author,
		RequestedAt: r.At.UTC(), Groups: append([]string(nil), r.Groups...)}, nil
}

// SubstituteNote explains, in domain text, why substitute releases a fix
// instead of the release manager the incident or rota had, who made it.
func SubstituteNote(scheduled, substitute string) string {
	return fmt.Sprintf("<@%s> made the fix and may not release it (four eyes); <@%s> is the next release manager on the rota", scheduled, substitute)
}

// RequesterSubstituteNote is SubstituteNote for a scheduled release
// manager who requested someone else's fix.
func RequesterSubstituteNote(scheduled, substitute string) string {
	return fmt.Sprintf("<@%s> requested the fix and may not release it (four eyes); <@%s> is the next release manager on the rota", scheduled, substitute)
}
