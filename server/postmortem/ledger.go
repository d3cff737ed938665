package postmortem

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// The role ledger says who held each role and when, and every change of
// holder with its reason: rota substitutions at the start, handovers asked
// and accepted, roles left open. A holder's tenure runs from the assignment
// until a handover or the resolution; a reopen starts a new tenure for each
// holder, so resolved periods are nobody's.

// tenure is one person's time in one role.
type tenure struct {
	role     incident.Role
	user     string
	from, to time.Time // to is zero while the role is still held
	how      string    // how it began: the assignment's why, or "handover"
	end      string    // how it ended: "handed over", "resolved", "reassigned"; "" while held
}

// substitution is a role that did not go to the person the rota scheduled.
type substitution struct {
	at   time.Time
	role incident.Role
	text string // the full reason, domain text with <@id> references
}

// handover is one requested change of holder, accepted or not.
type handover struct {
	role           incident.Role
	from, to, by   string
	askedAt        time.Time // zero if the request is not on the timeline
	acceptedAt     time.Time // zero if not accepted
	pending, moved bool      // still waiting; or overtaken by another change
}

// roleOpen is a role the rota could not fill.
type roleOpen struct {
	at   time.Time
	role incident.Role
	text string
}

// ledger is the role history of one incident.
type ledger struct {
	tenures   []tenure
	subs      []substitution
	handovers []handover
	open      []roleOpen
}

// buildLedger reads the role history from the time-ordered events; m gives
// the start and the end (the final resolution, or now while open).
func buildLedger(inc *incident.Incident, evs []incident.Event, m Metrics) *ledger {
	l := &ledger{}
	current := map[incident.Role]int{}   // role -> index of its running tenure
	holder := map[incident.Role]string{} // role -> holder, also while resolved
	asked := map[incident.Role]int{}     // role -> index of its latest handover request
	active := true
	begin := func(role incident.Role, user string, at time.Time, why string) {
		if i, ok := current[role]; ok {
			if l.tenures[i].user == user {
				return
			}
			l.tenures[i].to, l.tenures[i].end = at, "reassigned"
			delete(current, role)
		}
		holder[role] = user
		if active && user != "" {
			current[role] = len(l.tenures)
			l.tenures = append(l.tenures, tenure{role: role, user: user, from: at, how: why})
		}
	}
	stopAll := func(at time.Time, end string) {
		for _, i := range current {
			l.tenures[i].to, l.tenures[i].end = at, end
		}
		clear(current)
	}
	for _, e := range evs {
		role := incident.Role(e.Data[incident.DataRole])
		switch e.Type {
		case incident.EventRoleAssigned:
			begin(role, e.Data[incident.DataTo], e.At, e.Data[incident.DataWhy])
		case incident.EventHandoverAsked:
			if i, ok := asked[role]; ok && l.handovers[i].acceptedAt.IsZero() {
				l.handovers[i].moved = true // a new request replaces an unanswered one
			}
			asked[role] = len(l.handovers)
			l.handovers = append(l.handovers, handover{role: role, from: e.Data[incident.DataFrom], to: e.Data[incident.DataTo], by: e.Actor, askedAt: e.At})
		case incident.EventHandoverDone:
			to := e.Data[incident.DataTo]
			if to == "" {
				to = e.Actor
			}
			l.accept(role, e.Data[incident.DataFrom], to, e)
			if i, ok := current[role]; ok {
				l.tenures[i].to, l.tenures[i].end = e.At, "handed over"
				delete(current, role)
			}
			how := "handover"
			if from := e.Data[incident.DataFrom]; from != "" {
				how += " from " + userRef(from)
			}
			begin(role, to, e.At, how)
		case incident.EventRoleSubstituted:
			l.subs = append(l.subs, substitution{at: e.At, role: role, text: e.Text})
		case incident.EventRoleOpen:
			l.open = append(l.open, roleOpen{at: e.At, role: role, text: e.Text})
		case incident.EventResolved:
			if active {
				stopAll(e.At, "resolved")
				active = false
			}
		case incident.EventReopened:
			if !active {
				active = true
				for _, r := range incident.Roles {
					if u := holder[r]; u != "" {
						current[r] = len(l.tenures)
						l.tenures = append(l.tenures, tenure{role: r, user: u, from: e.At, how: "reopened"})
					}
				}
			}
		}
	}
	if m.Resolved && active {
		stopAll(m.End, "resolved")
	}
	if inc != nil {
		// Holders the timeline does not explain (an older record) held
		// their role from the start, as far as we know.
		for _, r := range incident.Roles {
			if u := inc.Roles[r]; u != "" && holder[r] == "" {
				t := tenure{role: r, user: u, from: m.Start, how: "not on the timeline"}
				if m.Resolved {
					t.to, t.end = m.End, "resolved"
				}
				l.tenures = append(l.tenures, t)
			}
		}
		for i := range l.handovers {
			h := &l.handovers[i]
			if h.acceptedAt.IsZero() && !h.moved {
				p, ok := inc.Handovers[h.role]
				h.pending = ok && p.To == h.to
			}
		}
	}
	order := map[incident.Role]int{}
	for i, r := range incident.Roles {
		order[r] = i + 1
	}
	slices.SortStableFunc(l.tenures, func(a, b tenure) int {
		if c := cmp.Compare(rank(order, a.role), rank(order, b.role)); c != 0 {
			return c
		}
		return a.from.Compare(b.from)
	})
	return l
}

// accept marks the latest matching request as accepted at e, or records
// an accepted handover whose request is missing from the timeline (its
// time is then read from the event text, "requested <RFC 3339>").
func (l *ledger) accept(role incident.Role, from, to string, e incident.Event) {
	for i := len(l.handovers) - 1; i >= 0; i-- {
		if h := &l.handovers[i]; h.role == role && h.to == to && h.acceptedAt.IsZero() {
			h.acceptedAt, h.moved = e.At, false
			if h.from == "" {
				h.from = from
			}
			return
		}
	}
	h := handover{role: role, from: from, to: to, acceptedAt: e.At}
	if s, ok := strings.CutPrefix(e.Text, "requested "); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			h.askedAt = t.UTC()
		}
	}
	l.handovers = append(l.handovers, h)
}

// userRef is how domain text refers to a user; the renderer names them.
func userRef(id string) string { return "<@" + id + ">" }

// rank orders roles by incident.Roles, unknown roles last.
func rank(order map[incident.Role]int, r incident.Role) int {
	if o, ok := order[r]; ok {
		return o
	}
	return len(order) + 1
}

// roles renders the ledger: a table of tenures, then the substitutions,
// the roles left open and the handovers.
func (r *renderer) roles() {
	l := r.l
	r.section("Roles")
	if len(l.tenures)+len(l.subs)+len(l.handovers)+len(l.open) == 0 {
		r.b.WriteString("_No roles were assigned._\n\n")
		return
	}
	if len(l.tenures) > 0 {
		r.b.WriteString("| Role | Holder | From (UTC) | To (UTC) | How |\n|---|---|---|---|---|\n")
		for _, t := range l.tenures {
			to := "still holding"
			if !t.to.IsZero() {
				to = stamp(t.to) + " (" + t.end + ")"
			}
			r.printf("| %s | %s | %s | %s | %s |\n", cell(t.role.Title()), cell(r.name(t.user)), stamp(t.from), cell(to), cell(renderUsers(t.how, r.name)))
		}
		r.b.WriteString("\n")
	}
	if len(l.subs) > 0 {
		r.b.WriteString("### Substitutions\n\n")
		for _, s := range l.subs {
			r.printf("- %s UTC, **%s**: %s\n", stamp(s.at), s.role.Title(), oneLine(renderUsers(s.text, r.name)))
		}
		r.b.WriteString("\n")
	}
	if len(l.open) > 0 {
		r.b.WriteString("### Roles left open\n\n")
		for _, o := range l.open {
			r.printf("- %s UTC, **%s**: %s\n", stamp(o.at), o.role.Title(), oneLine(renderUsers(o.text, r.name)))
		}
		r.b.WriteString("\n")
	}
	if len(l.handovers) > 0 {
		r.b.WriteString("### Handovers\n\n")
		for _, h := range l.handovers {
			r.printf("- **%s** from %s to %s: ", h.role.Title(), r.name(h.from), r.name(h.to))
			if !h.askedAt.IsZero() {
				by := ""
				if h.by != "" {
					by = " by " + r.name(h.by)
				}
				r.printf("requested%s at %s UTC; ", by, stamp(h.askedAt))
			}
			switch {
			case !h.acceptedAt.IsZero() && !h.askedAt.IsZero():
				r.printf("accepted at %s UTC, after %s\n", stamp(h.acceptedAt), dur(h.acceptedAt.Sub(h.askedAt)))
			case !h.acceptedAt.IsZero():
				r.printf("accepted at %s UTC\n", stamp(h.acceptedAt))
			case h.pending:
				r.b.WriteString("not accepted yet\n")
			default:
				r.b.WriteString("never accepted\n")
			}
		}
		r.b.WriteString("\n")
	}
}
