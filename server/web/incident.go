package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/postmortem"
)

type fact struct{ Key, Label, Value string }

type metric struct {
	Key, Label, Value string
}

// eventRows writes the event table's rows, every value escaped.
func eventRows(evs []incident.Event, nm *names) template.HTML {
	var b strings.Builder
	b.Grow(len(evs) * 160)
	esc := template.HTMLEscapeString
	for _, e := range evs {
		seq, typ := strconv.Itoa(e.Seq), esc(string(e.Type))
		b.WriteString(`<tr data-seq="`)
		b.WriteString(seq)
		b.WriteString(`" data-type="`)
		b.WriteString(typ)
		b.WriteString(`"><td class="num">`)
		b.WriteString(seq)
		b.WriteString(`</td><td class="nowrap">`)
		b.WriteString(stampSeconds(e.At))
		b.WriteString(`</td><td class="nowrap">`)
		b.WriteString(esc(eventName(e.Type)))
		b.WriteString(`</td><td>`)
		b.WriteString(esc(nm.get(e.Actor)))
		b.WriteString(`</td><td>`)
		if e.Text != "" {
			b.WriteString(esc(nm.text(e.Text)))
		} else {
			b.WriteString(esc(details(e, nm)))
		}
		b.WriteString("</td></tr>\n")
	}
	return template.HTML(b.String())
}

// eventName is an event type as people read it: "page acknowledged".
func eventName(t incident.EventType) string { return strings.ReplaceAll(string(t), "_", " ") }

// marksSVG writes the chart's marks, every value escaped.
func marksSVG(ms []mark) template.HTML {
	var b strings.Builder
	b.Grow(len(ms) * 110)
	for _, m := range ms {
		fmt.Fprintf(&b, `<rect class="mark %s" data-type="%s" data-seq="%d" x="%.1f" y="%.1f" width="4" height="14"/>`+"\n",
			template.HTMLEscapeString(m.Class), template.HTMLEscapeString(m.Type), m.Seq, m.X-2, m.Y+3)
	}
	return template.HTML(b.String())
}

type actionRow struct {
	N             int
	Text, Owner   string
	Due           time.Time
	Done, Overdue bool
	DoneAt        time.Time
}

type stintRow struct {
	Role     incident.Role
	User     string
	From, To time.Time
	Why      string
	X, W, Y  float64
}

type incidentPage struct {
	page
	Inc     *incident.Incident
	Facts   []fact
	Metrics []metric
	Stints  []stintRow
	Lanes   []lane
	Chart   *chart
	// EventRows and the chart's marks are written directly, each value
	// escaped: with 10,000 events the template engine's reflection would
	// be most of the page's time.
	EventRows  template.HTML
	Actions    []actionRow
	Postmortem template.HTML
	MDHref     string
}

type lane struct {
	Role  incident.Role
	Label string
	Y     float64
}

// Geometry of the charts (SVG user units).
const (
	chartW     = 1000.0
	chartLeft  = 120.0
	chartRight = 10.0
	laneH      = 22.0
)

// scale maps times in [from, to] to x.
type scale struct{ from, to time.Time }

func (s scale) x(t time.Time) float64 {
	span := s.to.Sub(s.from)
	if span <= 0 {
		return chartLeft
	}
	if t.Before(s.from) {
		t = s.from
	}
	if t.After(s.to) {
		t = s.to
	}
	return chartLeft + float64(t.Sub(s.from))/float64(span)*(chartW-chartLeft-chartRight)
}

type phase struct {
	Kind string
	X, W float64
	From time.Time
	To   time.Time
}

type mark struct {
	Seq   int
	Type  string
	Class string
	X, Y  float64
}

type tick struct {
	X     float64
	Label string
}

type chart struct {
	Phases []phase
	Marks  []mark
	// MarksSVG is Marks, written.
	MarksSVG template.HTML
	Due      []mark // when status updates fell due under the cadence
	Ticks    []tick
	Rows     []lane
	H        float64
}

// chart rows.
var rows = []struct{ key, label string }{
	{"phase", "status"}, {"page", "pages"}, {"ack", "acknowledged"}, {"update", "updates"}, {"hotfix", "hotfix"},
}

func rowY(key string) float64 {
	for i, r := range rows {
		if r.key == key {
			return 8 + float64(i)*laneH
		}
	}
	return 0
}

func buildChart(inc *incident.Incident, evs []incident.Event, sc scale, cadence time.Duration) *chart {
	c := &chart{H: 8 + float64(len(rows))*laneH + 24}
	for _, r := range rows {
		c.Rows = append(c.Rows, lane{Label: r.label, Y: rowY(r.key)})
	}
	state, since := "open", sc.from
	closePhase := func(at time.Time) {
		x0, x1 := sc.x(since), sc.x(at)
		c.Phases = append(c.Phases, phase{Kind: state, X: x0, W: max(x1-x0, 1), From: since, To: at})
	}
	lastUpdate := inc.CreatedAt
	for _, e := range evs {
		x := sc.x(e.At)
		switch e.Type {
		case incident.EventMitigated, incident.EventResolved, incident.EventReopened:
			next := map[incident.EventType]string{incident.EventMitigated: "mitigated", incident.EventResolved: "resolved", incident.EventReopened: "open"}[e.Type]
			if next != state {
				closePhase(e.At)
				state, since = next, e.At
			}
		case incident.EventPaged, incident.EventPageEscalated, incident.EventPageRenotified:
			cl := "m-page"
			if e.Type == incident.EventPageEscalated {
				cl = "m-page m-escalate" // an escalation stands out from the first page
			}
			c.Marks = append(c.Marks, mark{Seq: e.Seq, Type: string(e.Type), Class: cl, X: x, Y: rowY("page")})
		case incident.EventPageAcknowledged:
			c.Marks = append(c.Marks, mark{Seq: e.Seq, Type: string(e.Type), Class: "m-ack", X: x, Y: rowY("ack")})
		case incident.EventStatusUpdate:
			cl := "m-update"
			if e.Data[incident.DataOverdue] != "" {
				cl = "m-update late"
			}
			if cadence > 0 {
				c.Due = append(c.Due, mark{Type: "due", Class: "m-due", X: sc.x(lastUpdate.Add(cadence)), Y: rowY("update")})
			}
			lastUpdate = e.At
			c.Marks = append(c.Marks, mark{Seq: e.Seq, Type: string(e.Type), Class: cl, X: x, Y: rowY("update")})
		case incident.EventHotfixRequested, incident.EventHotfixSigned, incident.EventHotfixStageDone, incident.EventHotfixDeployed, incident.EventHotfixCancelled:
			c.Marks = append(c.Marks, mark{Seq: e.Seq, Type: string(e.Type), Class: "m-hotfix", X: x, Y: rowY("hotfix")})
		}
	}
	closePhase(sc.to)
	if cadence > 0 && inc.Status.Active() {
		c.Due = append(c.Due, mark{Type: "due", Class: "m-due", X: sc.x(lastUpdate.Add(cadence)), Y: rowY("update")})
	}
	c.Ticks = ticks(sc)
	c.MarksSVG = marksSVG(c.Marks)
	return c
}

// ticks puts about six labelled ticks on the time axis.
func ticks(sc scale) []tick {
	span := sc.to.Sub(sc.from)
	if span <= 0 {
		return nil
	}
	steps := []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s <= 6 {
			step = s
			break
		}
	}
	layout := "15:04"
	switch {
	case step < time.Minute:
		layout = "15:04:05"
	case step >= 24*time.Hour:
		layout = "Jan 2"
	}
	var out []tick
	for t := sc.from.Truncate(step).Add(step); !t.After(sc.to); t = t.Add(step) {
		out = append(out, tick{X: sc.x(t), Label: t.UTC().Format(layout)})
	}
	return out
}

// ServeIncident serves GET /incidents/{id}.
func (p *Pages) ServeIncident(w http.ResponseWriter, r *http.Request, actor string) {
	ctx := r.Context()
	inc, err := p.App.Read(ctx, actor, r.PathValue("id"))
	if err != nil {
		p.fail(w, ctx, err, "incident", actor)
		return
	}
	evs, err := p.App.Timeline(ctx, inc)
	if err != nil {
		p.fail(w, ctx, err, "incident", actor)
		return
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	items, err := p.App.ActionItems(ctx, inc)
	if err != nil {
		p.fail(w, ctx, err, "incident", actor)
		return
	}
	// The postmortem renders on the side: with a long timeline it is
	// the larger half of the work.
	type rendered struct {
		html template.HTML
		err  error
	}
	pmc := make(chan rendered, 1)
	go func() {
		pmd, err := p.App.PostmortemOf(ctx, inc, evs)
		if err != nil {
			pmc <- rendered{err: err}
			return
		}
		var b bytes.Buffer
		b.Grow(len(pmd) * 2)
		if err := md.Convert([]byte(pmd), &b); err != nil {
			pmc <- rendered{err: fmt.Errorf("render postmortem: %w", err)}
			return
		}
		pmc <- rendered{html: template.HTML(b.String())} // goldmark escapes text and drops raw HTML
	}()
	now := p.App.Now()
	cadence := p.App.Cadence(inc.Severity)
	// The same computation as the postmortem's Metrics section.
	m := postmortem.ComputeAt(inc, evs, cadence, now)
	nm := p.names()

	data := &incidentPage{page: page{Title: "#" + inc.ID + " " + inc.Title, Root: "../", Nav: "incidents", Now: now},
		Inc: inc, MDHref: inc.ID + "/postmortem.md"}
	add := func(key, label, v string) {
		if v != "" {
			data.Facts = append(data.Facts, fact{key, label, v})
		}
	}
	add("id", "Incident", "#"+inc.ID)
	add("title", "Title", inc.Title)
	add("severity", "Severity", inc.Severity.String()+" ("+inc.Severity.Label()+")")
	if inc.HighestSeverity.Valid() && inc.HighestSeverity != inc.Severity {
		add("highest-severity", "Highest severity", inc.HighestSeverity.Label())
	}
	add("status", "Status", inc.Status.Label())
	add("summary", "Summary", nm.text(inc.Summary))
	add("impact", "Impact", nm.text(inc.Impact))
	add("resolution", "Resolution", nm.text(inc.Resolution))
	add("created", "Started", stamp(inc.CreatedAt))
	add("created-by", "Started by", nm.get(inc.CreatedBy))
	add("mitigated", "Mitigated", stamp(inc.MitigatedAt))
	add("resolved", "Resolved", stamp(inc.ResolvedAt))
	for _, role := range incident.Roles {
		if u := inc.Roles[role]; u != "" {
			add("role-"+string(role), role.Title(), nm.get(u))
		}
	}
	if inc.Private {
		add("private", "Channel", "private")
	}

	data.Metrics = metrics(m)

	end := now
	if !inc.Status.Active() {
		end = inc.ResolvedAt
		if n := len(evs); n > 0 && evs[n-1].At.After(end) {
			end = evs[n-1].At
		}
	}
	start := inc.CreatedAt
	if len(evs) > 0 && evs[0].At.Before(start) {
		start = evs[0].At
	}
	if !end.After(start) {
		end = start.Add(time.Minute)
	}
	sc := scale{start, end}
	data.Chart = buildChart(inc, evs, sc, cadence)
	data.Stints, data.Lanes = stints(evs, sc, nm)

	data.EventRows = eventRows(evs, nm)
	for _, it := range items.Items {
		data.Actions = append(data.Actions, actionRow{N: it.N, Text: nm.text(it.Text), Owner: nm.get(it.Owner), Due: it.Due,
			Done: it.Done, DoneAt: it.DoneAt, Overdue: !it.Done && !it.Due.IsZero() && it.Due.Before(now)})
	}
	pm := <-pmc
	if pm.err != nil {
		p.fail(w, ctx, pm.err, "incident", actor)
		return
	}
	data.Postmortem = pm.html
	p.render(w, "incident", data)
}

// metrics are the postmortem's figures, as it words them.
func metrics(m postmortem.Metrics) []metric {
	tta := "no pages were sent"
	switch {
	case m.Acknowledged:
		tta = durText(m.TimeToAck)
	case m.Pages > 0:
		tta = "not acknowledged"
	}
	ttm := "not mitigated yet"
	if !m.MitigatedAt.IsZero() {
		ttm = durText(m.TimeToMitigate)
	}
	ttr := "not resolved yet"
	if m.Resolved {
		ttr = durText(m.TimeToResolve)
	}
	return []metric{
		{"tta", "Time to acknowledge", tta},
		{"ttm", "Time to mitigate", ttm},
		{"ttr", "Time to resolve", ttr},
		{"open", "Time open", durText(m.TimeOpen)},
		{"pages", "Pages", fmt.Sprintf("%d (%d escalations)", m.Pages, m.Escalations)},
		{"updates", "Status updates", fmt.Sprintf("%d (%d late)", m.Updates, m.LateUpdates)},
		{"overdue", "Updates overdue", durText(m.Overdue)},
	}
}

// stints are who held each role when: from each assignment or accepted
// handover to the next of the same role, or the chart's end.
func stints(evs []incident.Event, sc scale, nm *names) ([]stintRow, []lane) {
	var out []stintRow
	open := map[incident.Role]int{}
	var lanes []lane
	laneY := map[incident.Role]float64{}
	for i, role := range incident.Roles {
		y := 6 + float64(i)*laneH
		laneY[role] = y
		lanes = append(lanes, lane{Role: role, Label: role.Title(), Y: y})
	}
	for _, e := range evs {
		if e.Type != incident.EventRoleAssigned && e.Type != incident.EventHandoverDone {
			continue
		}
		role, to := incident.Role(e.Data[incident.DataRole]), e.Data[incident.DataTo]
		if to == "" {
			continue
		}
		if k, ok := open[role]; ok {
			out[k].To = e.At
		}
		open[role] = len(out)
		why := e.Data[incident.DataWhy]
		if e.Type == incident.EventHandoverDone {
			why = "handover"
		}
		out = append(out, stintRow{Role: role, User: nm.get(to), From: e.At, To: sc.to, Why: why, Y: laneY[role]})
	}
	for i := range out {
		x0, x1 := sc.x(out[i].From), sc.x(out[i].To)
		out[i].X, out[i].W = x0, max(x1-x0, 1)
	}
	return out, lanes
}

// ServePostmortemMD serves GET /incidents/{id}/postmortem.md.
func (p *Pages) ServePostmortemMD(w http.ResponseWriter, r *http.Request, actor string) {
	ctx := r.Context()
	inc, err := p.App.Read(ctx, actor, r.PathValue("id"))
	if err != nil {
		p.fail(w, ctx, err, "postmortem.md", actor)
		return
	}
	pmd, err := p.App.Postmortem(ctx, inc)
	if err != nil {
		p.fail(w, ctx, err, "postmortem.md", actor)
		return
	}
	headers(w)
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="postmortem-%s.md"`, inc.ID))
	_, _ = w.Write([]byte(pmd))
}

// details says what an event without text recorded: its data, people
// named, e.g. "role: im, to: @ian, why: rota".
func details(e incident.Event, nm *names) string {
	if len(e.Data) == 0 {
		return ""
	}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		v := e.Data[k]
		switch k {
		case incident.DataTo, incident.DataFrom, incident.DataTarget, "by", "user":
			// A person only where the value is a user id: "to" is a
			// severity, a status or a title in other events.
			if looksLikeID(v) {
				v = nm.get(v)
			}
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(v)
	}
	return b.String()
}

// looksLikeID reports whether s has the shape of a Mattermost id: 26
// lowercase letters and digits.
func looksLikeID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
