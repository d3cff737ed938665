package rota

import (
	"fmt"
	"strings"
	"time"
)

// The domain knows user ids, not names. Text for people writes each user as
// UserRef(id), "<@id>", and the adapter turns those into names with
// RenderUsers just before posting; error messages from the editing helpers
// use the same form.

// UserRef is how domain text refers to a user: "<@" + id + ">".
func UserRef(id string) string { return "<@" + id + ">" }

// RenderUsers replaces each UserRef in text with name(id), e.g. "@alice".
// Text without references is returned unchanged; a nil name leaves the
// references as they are.
func RenderUsers(text string, name func(userID string) string) string {
	if name == nil {
		return text
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "<@")
		if i < 0 {
			break
		}
		j := strings.IndexByte(text[i:], '>')
		id := ""
		if j > 2 {
			id = text[i+2 : i+j]
		}
		if id == "" || strings.ContainsAny(id, " <@") {
			b.WriteString(text[:i+2]) // not a reference: keep it and scan on
			text = text[i+2:]
			continue
		}
		b.WriteString(text[:i])
		b.WriteString(name(id))
		text = text[i+j+1:]
	}
	b.WriteString(text)
	return b.String()
}

// String describes the substitution in one sentence, users as UserRef, e.g.
// "<@bob> is on duty for both Incident manager and Second line; keeps
// Incident manager; Second line goes to <@carol>, next available in the
// Second line rota".
func (s Substitution) String() string {
	role := s.Role.Title()
	var why string
	switch s.Reason {
	case ReasonAway:
		why = UserRef(s.Scheduled) + " is away"
	case ReasonDoubleDuty:
		why = fmt.Sprintf("%s is on duty for both %s and %s; keeps %s", UserRef(s.Scheduled), s.Kept.Title(), role, s.Kept.Title())
	default:
		why = fmt.Sprintf("%s is not available (%s)", UserRef(s.Scheduled), s.Reason)
	}
	if s.UserID == "" {
		return fmt.Sprintf("%s; nobody else in the %s rota is available, so %s stays open", why, role, role)
	}
	return fmt.Sprintf("%s; %s goes to %s, next available in the %s rota", why, role, UserRef(s.UserID), role)
}

// Text is String with users rendered by name (see RenderUsers).
func (s Substitution) Text(name func(userID string) string) string {
	return RenderUsers(s.String(), name)
}

// Warning is an override whose holder is away for part of it. The override
// stands, since it is an explicit admin decision that beats away periods, but
// the admin should know: they may have meant to cover the away person
// rather than to put them on duty.
type Warning struct {
	Override Override
	Away     Away
	From, To time.Time // when both apply: [From, To)
}

// overlapWarning returns the warning for o and a if the override holder is
// away during the override.
func overlapWarning(o Override, a Away) (Warning, bool) {
	if o.UserID != a.UserID {
		return Warning{}, false
	}
	from, to := o.From, o.To
	if a.From.After(from) {
		from = a.From
	}
	if a.To.Before(to) {
		to = a.To
	}
	if !from.Before(to) {
		return Warning{}, false
	}
	return Warning{Override: o, Away: a, From: from, To: to}, true
}

// overrideAway returns the warnings for o with each away period that keep
// accepts.
func (r *Rota) overrideAway(o Override, keep func(Away) bool) []Warning {
	var out []Warning
	for _, a := range r.Away {
		if w, ok := overlapWarning(o, a); ok && keep(a) {
			out = append(out, w)
		}
	}
	return out
}

// String describes the warning in one sentence, users as UserRef.
func (w Warning) String() string {
	return fmt.Sprintf("%s is away from %s to %s but covers %s by override then; the override stands (remove it if someone else should cover)",
		UserRef(w.Override.UserID), stamp(w.From), stamp(w.To), w.Override.Role.Title())
}

// Text is String with users rendered by name (see RenderUsers).
func (w Warning) Text(name func(userID string) string) string {
	return RenderUsers(w.String(), name)
}
