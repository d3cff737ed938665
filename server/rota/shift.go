package rota

import (
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Self-service on the rota: members take each other's shifts, offer their
// own, and, when the rota says so, a rota admin approves. A shift that
// changes hands becomes an Override whose For names the member whose duty
// it was, so that every reader of the rota (staffing, pages, handles,
// headers, calendar feeds) sees it at once. Requests wait in the rota
// document; every change lands in its History.

// Bounds of the self-service entries kept in the rota document.
const (
	MaxRequests = 50  // open shift requests
	MaxHistory  = 100 // history entries; the oldest go first
	MaxShift    = 31 * 24 * time.Hour
)

// ShiftRequest is a shift waiting to change hands: offered by the member
// on duty (OfferedBy) and waiting for a taker, or asked for by a taker
// and waiting for a rota admin's approval.
type ShiftRequest struct {
	ID   string        `json:"id"`
	Role incident.Role `json:"role"`
	From time.Time     `json:"from"`
	To   time.Time     `json:"to"`
	// For is who the rota has on duty for Role at From: whose shift it is.
	For string `json:"for"`
	// OfferedBy is the member who offered it; "" when Taker asked.
	OfferedBy string `json:"offered_by,omitempty"`
	// Taker is who would take it; "" while an offer waits for one.
	Taker string    `json:"taker,omitempty"`
	At    time.Time `json:"at"`
	// PostID is the bot's post with the request's buttons.
	PostID string `json:"post_id,omitempty"`
}

// Change is one entry of a rota's history: what changed, by whom, when.
// Text holds <@id> user references.
type Change struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	Text string    `json:"text"`
}

// Record adds a history entry, dropping the oldest beyond MaxHistory.
func (r *Rota) Record(at time.Time, by, text string) {
	r.History = append(r.History, Change{At: at.UTC(), By: by, Text: text})
	if n := len(r.History) - MaxHistory; n > 0 {
		r.History = slices.Delete(r.History, 0, n)
	}
}

// Request returns the open request with id.
func (r *Rota) Request(id string) (*ShiftRequest, bool) {
	for i := range r.Requests {
		if r.Requests[i].ID == id {
			return &r.Requests[i], true
		}
	}
	return nil, false
}

// DropRequest removes the request with id, reporting whether there was one.
func (r *Rota) DropRequest(id string) bool {
	n := len(r.Requests)
	r.Requests = slices.DeleteFunc(r.Requests, func(q ShiftRequest) bool { return q.ID == id })
	return len(r.Requests) < n
}

// CheckShift checks a shift of role during [from, to) asked for at now:
// a known role, a period that has not ended and is at most MaxShift long.
// It returns who the rota has on duty for role at the shift's start (or
// at now, if the shift has begun), whose shift it is.
func (r *Rota) CheckShift(role incident.Role, from, to time.Time, s Schedule, now time.Time) (string, error) {
	if !knownRole(role) {
		return "", unknownRole(role)
	}
	if err := checkPeriod("shift", from, to); err != nil {
		return "", err
	}
	if !to.After(now) {
		return "", incident.Invalidf("that shift is over (it ended %s); take or offer one still to come", stamp(to))
	}
	if to.Sub(from) > MaxShift {
		return "", incident.Invalidf("a shift is at most 31 days; take or offer a shorter one")
	}
	at := from
	if at.Before(now) {
		at = now
	}
	d, ok := r.OnDuty(s, at)[role]
	if !ok {
		return "", incident.Invalidf("nobody is on duty for %s then, so there is no shift to take; a rota admin sets an override", role.Title())
	}
	return d.UserID, nil
}

// AddRequest adds q (see MaxRequests).
func (r *Rota) AddRequest(q ShiftRequest) error {
	if len(r.Requests) >= MaxRequests {
		return incident.Invalidf("the rota has %d open shift requests; decide or withdraw some first", MaxRequests)
	}
	r.Requests = append(r.Requests, q)
	return nil
}

// GiveShift puts taker on duty for q's role during q's period, for q.For,
// as an override set by by.
func (r *Rota) GiveShift(q ShiftRequest, taker, by string) ([]Warning, error) {
	return r.AddOverride(Override{Role: q.Role, UserID: taker, From: q.From, To: q.To, By: by, For: q.For})
}

// PruneRequests drops the requests whose shift ended by before.
func (r *Rota) PruneRequests(before time.Time) int {
	n := len(r.Requests)
	r.Requests = slices.DeleteFunc(r.Requests, func(q ShiftRequest) bool { return !q.To.After(before) })
	return n - len(r.Requests)
}
