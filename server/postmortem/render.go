package postmortem

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Render returns the postmortem of in.Incident as Markdown. An incident that
// is not resolved renders as a draft, marked as such at the top. Every user
// text in it is safe to post (see the package comment); the result may be
// longer than one post: see Split.
func Render(in Input) string {
	r := newRenderer(in)
	r.header()
	r.summary()
	r.metrics()
	r.roles()
	r.release()
	r.runbookSection()
	r.lessons()
	r.actions()
	r.participants()
	r.updates()
	r.timeline()
	return neutralise(strings.TrimRight(r.b.String(), "\n") + "\n")
}

// renderer holds what the sections share.
type renderer struct {
	in    Input
	inc   *incident.Incident
	evs   []incident.Event // by time
	m     Metrics
	l     *ledger
	pages []*page
	// pageNo numbers the pages by page id, from 1 in the order they began:
	// shorter to read than their ids.
	pageNo map[string]int
	names  map[string]string
	b      strings.Builder
}

func newRenderer(in Input) *renderer {
	inc := in.Incident
	if inc == nil {
		inc = &incident.Incident{}
	}
	r := &renderer{in: in, inc: inc, evs: asShown(ordered(in.Timeline)), names: map[string]string{}}
	r.m = ComputeAt(inc, r.evs, in.Cadence, in.Now)
	r.l = buildLedger(inc, r.evs, r.m)
	r.pages, r.pageNo = pages(r.evs), map[string]int{}
	for i, p := range r.pages {
		r.pageNo[p.id] = i + 1
	}
	r.b.Grow(4096 + 160*len(in.Timeline))
	return r
}

// name returns how to show a user, once per user.
func (r *renderer) name(id string) string {
	switch id {
	case "":
		return "nobody"
	case incident.ActorSystem:
		return incident.BotName
	}
	if n, ok := r.names[id]; ok {
		return n
	}
	n := ""
	if r.in.Name != nil {
		n = oneLine(r.in.Name(id))
	}
	if n == "" {
		n = "@" + id
	}
	r.names[id] = n
	return n
}

func (r *renderer) printf(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

func (r *renderer) section(title string) { r.b.WriteString("## " + title + "\n\n") }

func (r *renderer) header() {
	inc, m := r.inc, r.m
	ref := "Incident"
	if inc.ID != "" {
		ref = inc.ShortRef()
	}
	shown := title(inc.Title)
	if shown == "" {
		shown = "(untitled)"
	}
	if m.Resolved {
		r.printf("# Postmortem %s: %s\n\n", ref, shown)
	} else {
		r.printf("# Postmortem draft %s: %s\n\n", ref, shown)
		status := strings.ToLower(inc.Status.Label())
		if status == "" {
			status = "open"
		}
		r.printf("> **Draft:** this incident is still %s, not resolved. The figures run to %s and will change; render the postmortem again once it is resolved.\n\n",
			status, when(m.End, nil))
	}
	r.printf("- **Incident:** %s, declared by %s\n", ref, r.name(inc.CreatedBy))
	sev := r.highestSeverity()
	if sev.Valid() {
		r.printf("- **Highest severity reached:** %s (%s)", sev, sev.Label())
	} else {
		r.printf("- **Highest severity reached:** unknown")
	}
	if inc.Severity.Valid() && inc.Severity != sev {
		if m.Resolved {
			r.printf("; %s (%s) at the end", inc.Severity, inc.Severity.Label())
		} else {
			r.printf("; %s (%s) now", inc.Severity, inc.Severity.Label())
		}
	}
	r.b.WriteString("\n")
	status := inc.Status.Label()
	if status == "" {
		status = "unknown"
	}
	if m.Reopens > 0 {
		status += ", reopened " + times(m.Reopens)
	}
	r.printf("- **Status:** %s\n", status)
	loc := r.in.Location
	r.printf("- **Started:** %s\n", when(m.Start, loc))
	switch {
	case m.MitigatedAt.IsZero():
		r.printf("- **Mitigated:** not yet\n")
	case m.MitigatedByResolve:
		r.printf("- **Mitigated:** %s, on resolution\n", when(m.MitigatedAt, loc))
	default:
		r.printf("- **Mitigated:** %s\n", when(m.MitigatedAt, loc))
	}
	if m.Resolved {
		final := ""
		if m.Reopens > 0 {
			final = ", the final resolution"
		}
		r.printf("- **Resolved:** %s%s\n", when(m.ResolvedAt, loc), final)
		r.printf("- **Duration:** %s", dur(m.End.Sub(m.Start)))
	} else {
		r.printf("- **Resolved:** not yet\n")
		r.printf("- **Duration so far:** %s", dur(m.End.Sub(m.Start)))
	}
	if closed := m.End.Sub(m.Start) - m.TimeOpen; m.Reopens > 0 && closed > 0 {
		r.printf(", of which %s open and %s resolved before a reopen", dur(m.TimeOpen), dur(closed))
	}
	r.b.WriteString("\n")
	if loc != nil && loc != time.UTC && loc.String() != "UTC" {
		r.printf("- **Times:** UTC, with %s in brackets above; the tables are in UTC\n\n", loc)
	} else {
		r.printf("- **Times:** all in UTC\n\n")
	}
}

// highestSeverity is the most severe of the record's highest severity, its
// current one and every severity on the timeline.
func (r *renderer) highestSeverity() incident.Severity {
	sev := r.inc.HighestSeverity
	if r.inc.Severity.MoreSevereThan(sev) {
		sev = r.inc.Severity
	}
	for _, e := range r.evs {
		if e.Type != incident.EventStarted && e.Type != incident.EventSeverityChanged {
			continue
		}
		if s, err := incident.ParseSeverity(e.Data[incident.DataTo]); err == nil && s.MoreSevereThan(sev) {
			sev = s
		}
	}
	return sev
}

func (r *renderer) summary() {
	r.section("Summary")
	switch {
	case !r.m.Resolved:
		r.b.WriteString("_Not resolved yet._\n\n")
	case strings.TrimSpace(r.inc.Resolution) == "":
		r.b.WriteString("_No resolution summary was given._\n\n")
	default:
		r.b.WriteString(quote(r.inc.Resolution) + "\n\n")
	}
	if strings.TrimSpace(r.inc.Summary) != "" {
		r.b.WriteString("As declared:\n\n" + quote(r.inc.Summary) + "\n\n")
	}
	r.section("Impact")
	if strings.TrimSpace(r.in.Impact) == "" {
		r.b.WriteString("_Not described yet._\n\n")
	} else {
		r.b.WriteString(quote(r.in.Impact) + "\n\n")
	}
}

func (r *renderer) metrics() {
	m := r.m
	r.section("Metrics")
	switch {
	case m.Pages == 0 && !m.Acknowledged:
		r.b.WriteString("- **Time to first acknowledgement:** no pages were sent\n")
	case !m.Acknowledged && m.Resolved:
		r.printf("- **Time to first acknowledgement:** never acknowledged (first page %s)\n", when(m.FirstPageAt, nil))
	case !m.Acknowledged:
		r.printf("- **Time to first acknowledgement:** not acknowledged yet (first page %s)\n", when(m.FirstPageAt, nil))
	default:
		r.printf("- **Time to first acknowledgement:** %s (first page %s, first acknowledgement %s)\n",
			dur(m.TimeToAck), when(m.FirstPageAt, nil), when(m.FirstAckAt, nil))
	}
	r.printf("- **Paging:** %s, %s, %s, %s closed unacknowledged\n", plural(m.Pages, "page", ""),
		plural(m.Renotifications, "re-notification", ""), plural(m.Escalations, "escalation", ""), strconv.Itoa(m.PagesClosed))
	switch {
	case m.MitigatedAt.IsZero():
		r.printf("- **Time to mitigate:** not mitigated yet\n")
	case m.MitigatedByResolve:
		r.printf("- **Time to mitigate:** %s (resolved without a separate mitigation)\n", dur(m.TimeToMitigate))
	default:
		r.printf("- **Time to mitigate:** %s\n", dur(m.TimeToMitigate))
	}
	switch {
	case !m.Resolved:
		r.printf("- **Time to resolve:** not resolved yet\n")
	case m.Reopens > 0:
		r.printf("- **Time to resolve:** %s to the final resolution; first resolved after %s, then reopened %s\n",
			dur(m.TimeToResolve), dur(m.FirstResolvedAt.Sub(m.Start)), times(m.Reopens))
	default:
		r.printf("- **Time to resolve:** %s\n", dur(m.TimeToResolve))
	}
	r.printf("- **Time open:** %s", dur(m.TimeOpen))
	if m.Reopens > 0 {
		r.b.WriteString(", not counting the time it was resolved")
	}
	r.b.WriteString("\n")
	target := "no cadence target"
	if m.Cadence > 0 {
		target = "target: one every " + dur(m.Cadence)
	}
	r.printf("- **Status updates:** %s (%s); longest gap %s (counted from the start); overdue %s in total (%s, %s)\n\n",
		strconv.Itoa(m.Updates), target, dur(m.LongestGap), dur(m.Overdue),
		plural(m.LateUpdates, "late update", ""), plural(m.Reminders, "reminder", ""))
	r.pageTable()
}

func (r *renderer) pageTable() {
	if len(r.pages) == 0 {
		return
	}
	r.b.WriteString("### Pages\n\n| Page | Paged (UTC) | First paged | Highest level | Notifications | Outcome |\n|---|---|---|---|---|---|\n")
	for i, p := range r.pages {
		first := r.name(p.first)
		if p.role != "" {
			first += " (" + p.role.Title() + ")"
		}
		var outcome string
		switch {
		case !p.ackAt.IsZero():
			outcome = fmt.Sprintf("acknowledged by %s at %s", r.name(p.ackBy), stamp(p.ackAt))
			if !p.pagedAt.IsZero() {
				outcome += ", after " + dur(p.ackAt.Sub(p.pagedAt))
			}
		case !p.closedAt.IsZero():
			outcome = "closed unacknowledged at " + stamp(p.closedAt)
		default:
			outcome = "not acknowledged yet"
		}
		level := "–"
		if p.level > 0 {
			level = strconv.Itoa(p.level)
		}
		r.printf("| %d | %s | %s | %s | %d | %s |\n", i+1, stamp(p.pagedAt), cell(first), level, p.notifications, cell(outcome))
	}
	r.b.WriteString("\n")
}

// isLesson reports whether e is a note tagged as a lesson.
func isLesson(e incident.Event) bool {
	if e.Type != incident.EventNote {
		return false
	}
	ok, _ := strconv.ParseBool(e.Data[DataLesson])
	return ok
}

func (r *renderer) lessons() {
	r.section("Lessons and contributing factors")
	n := 0
	for _, e := range r.evs {
		if !isLesson(e) {
			continue
		}
		n++
		r.printf("**%d.** %s, %s UTC:\n\n%s\n\n", n, r.name(e.Actor), stamp(e.At), quote(e.Text))
	}
	if n == 0 {
		r.b.WriteString("_No notes were tagged as lessons._\n\n")
	}
}

func (r *renderer) actions() {
	r.section("Action items")
	items := slices.Clone(r.in.Actions)
	slices.SortStableFunc(items, func(a, b ActionItem) int { return cmp.Compare(a.N, b.N) })
	var open, done []ActionItem
	for _, a := range items {
		if a.Done {
			done = append(done, a)
		} else {
			open = append(open, a)
		}
	}
	if len(items) == 0 {
		r.b.WriteString("_No action items yet._\n\n")
		return
	}
	owner := func(a ActionItem) string {
		if a.Owner == "" {
			return "unassigned"
		}
		return r.name(a.Owner)
	}
	if len(open) > 0 {
		r.printf("### Open (%d)\n\n| # | Action | Owner | Due (UTC) |\n|---|---|---|---|\n", len(open))
		for _, a := range open {
			due := "no due date"
			if !a.Due.IsZero() {
				due = day(a.Due)
				if !r.in.Now.IsZero() && a.Due.Before(r.in.Now) {
					due += " (overdue)"
				}
			}
			r.printf("| %d | %s | %s | %s |\n", a.N, cell(a.Text), cell(owner(a)), due)
		}
		r.b.WriteString("\n")
	}
	if len(done) > 0 {
		r.printf("### Done (%d)\n\n| # | Action | Owner | Done (UTC) |\n|---|---|---|---|\n", len(done))
		for _, a := range done {
			r.printf("| %d | %s | %s | %s |\n", a.N, cell(a.Text), cell(owner(a)), stamp(a.DoneAt))
		}
		r.b.WriteString("\n")
	}
}

// day formats a due time: the date alone at UTC midnight, else the time.
func day(t time.Time) string {
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format("2006-01-02")
	}
	return stamp(t)
}
