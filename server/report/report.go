// Package report renders the incident reports the plugin shows in chat
// (the timeline table, the incident list, the stats) as Markdown. It is
// pure: the plugin's slash commands and the offline incident-archive tool
// both render through it, so that the same incident reads the same in
// both. How users are named is passed in.
package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
)

// TimeLayout is how the list shows instants: UTC, to the minute (the
// bot's TimeLayout).
const TimeLayout = "2006-01-02 15:04 UTC"

// Timeline renders events of inc as the /incident timeline table: a
// heading, one row per event, and, when events are only the tail of the
// timeline, how many of how many it shows. name names an actor (it is
// asked once per actor); render turns the <@id> user references of the
// event cells into names.
func Timeline(inc *incident.Incident, events []incident.Event, name func(userID string) string, render func(string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### Timeline of incident %s: %s\n| Time (UTC) | Who | Event |\n|---|---|---|\n", inc.ShortRef(), mention.Inline(inc.Title))
	names := nameCache{lookup: name, m: map[string]string{}}
	for _, e := range events {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", e.At.UTC().Format("2006-01-02 15:04:05"), names.get(e.Actor), render(EventCell(e)))
	}
	// Seq counts from 0 along the whole timeline, so the last one tells
	// its length without reading it.
	if n := len(events); n > 0 && events[0].Seq > 0 {
		fmt.Fprintf(&b, "\n_Showing the last %d of %d events._", n, events[n-1].Seq+1)
	}
	return b.String()
}

// nameCache looks each actor up once per rendering.
type nameCache struct {
	lookup func(userID string) string
	m      map[string]string
}

func (n nameCache) get(userID string) string {
	if name, ok := n.m[userID]; ok {
		return name
	}
	name := n.lookup(userID)
	n.m[userID] = name
	return name
}

// EventCell describes an event in one table cell; users stay <@id>
// references.
func EventCell(e incident.Event) string {
	var desc string
	switch e.Type {
	case incident.EventStarted:
		desc = fmt.Sprintf("started as %s: %s", e.Data[incident.DataTo], e.Data["title"])
		if r := e.Data[incident.DataRota]; r != "" {
			desc += fmt.Sprintf(" (rota %s", r)
			if why := e.Data[incident.DataWhy]; why != "" {
				desc += ", " + why
			}
			desc += ")"
		}
	case incident.EventSeverityChanged:
		desc = fmt.Sprintf("severity changed %s → %s", e.Data[incident.DataFrom], e.Data[incident.DataTo])
	case incident.EventRotaChanged:
		desc = fmt.Sprintf("rota %s → %s", e.Data[incident.DataFrom], e.Data[incident.DataTo])
	case incident.EventHotfixRequested, incident.EventHotfixDeployed, incident.EventHotfixCancelled:
		desc = fmt.Sprintf("hotfix %s %s", e.Data[incident.DataHotfix], strings.TrimPrefix(string(e.Type), "hotfix_"))
	case incident.EventHotfixSigned:
		desc = fmt.Sprintf("%s %s %s (hotfix %s)", e.Data[incident.DataGroup], e.Data[incident.DataVerdict],
			StageName(e.Data[incident.DataStage]), e.Data[incident.DataHotfix])
	case incident.EventHotfixStageDone:
		desc = fmt.Sprintf("%s signed off (hotfix %s)", StageName(e.Data[incident.DataStage]), e.Data[incident.DataHotfix])
	default:
		desc = strings.ReplaceAll(string(e.Type), "_", " ")
	}
	if role := incident.Role(e.Data[incident.DataRole]); role != "" {
		switch e.Type {
		case incident.EventRoleAssigned:
			desc = fmt.Sprintf("%s: <@%s> (%s)", role.Title(), e.Data[incident.DataTo], e.Data[incident.DataWhy])
		case incident.EventRoleOpen:
			desc = role.Title() + " open"
		case incident.EventHandoverAsked:
			desc = fmt.Sprintf("handover of %s from <@%s> to <@%s> requested", role.Title(), e.Data[incident.DataFrom], e.Data[incident.DataTo])
		case incident.EventHandoverDone:
			desc = fmt.Sprintf("handover of %s from <@%s> to <@%s> accepted", role.Title(), e.Data[incident.DataFrom], e.Data[incident.DataTo])
			e.Text = ""
		case incident.EventRoleSubstituted:
			desc = "substitution, " + role.Title()
		}
	}
	if e.Text != "" {
		desc += ": " + e.Text
	}
	return TableCell(desc)
}

// StageName names a sign-off stage as the timeline shows it.
func StageName(stage string) string { return strings.ReplaceAll(stage, "_", " ") }

// TableCell keeps user text inside one markdown table cell.
func TableCell(s string) string {
	s = strings.ReplaceAll(mention.Inline(s), "|", `\|`)
	return s
}

// IncidentTable renders incidents as the /incident list table: a header
// and one row each. id renders an incident's id cell (a link, say).
func IncidentTable(list []*incident.Incident, id func(inc *incident.Incident) string) string {
	var b strings.Builder
	b.WriteString("| Id | Severity | Status | Title | Started |\n|---|---|---|---|---|\n")
	for _, inc := range list {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", id(inc), inc.Severity, inc.Status.Label(), TableCell(inc.Title), inc.CreatedAt.UTC().Format(TimeLayout))
	}
	return b.String()
}

// IDCell is the plain id cell of an incident table: the id as code.
func IDCell(inc *incident.Incident) string { return "`" + inc.ID + "`" }

// Stats renders incident stats as /incident stats shows them; users stay
// <@id> references.
func Stats(st *app.Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### Incidents since %s: %d\n", st.Since.UTC().Format("2006-01-02"), st.Incidents)
	// Not how many: with a chosen window that would tell an outsider
	// when private incidents started.
	b.WriteString("_Private incidents of channels you are not in are not counted._\n")
	if len(st.Pending) > 0 {
		fmt.Fprintf(&b, "_The figures of %s are being computed from their timelines, once: their incidents are left out until then; ask again in a minute._\n", strings.Join(st.Pending, ", "))
	}
	if st.Incidents == 0 {
		return b.String()
	}
	b.WriteString("| Severity | Incidents | To acknowledge (mean / p90) | To mitigate (mean / p90) | To resolve (mean / p90) |\n|---|---|---|---|---|\n")
	for _, sev := range incident.Severities {
		ss := st.BySeverity[sev]
		if ss == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", sev, ss.Incidents, durStats(ss.ToAck), durStats(ss.ToMitigate), durStats(ss.ToResolve))
	}
	perPerson := func(title string, m map[string]int) {
		if len(m) == 0 {
			return
		}
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return m[ids[i]] > m[ids[j]] || (m[ids[i]] == m[ids[j]] && ids[i] < ids[j]) })
		fmt.Fprintf(&b, "\n**%s:** ", title)
		for i, id := range ids {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "<@%s> %d", id, m[id])
		}
		b.WriteString("\n")
	}
	perPerson("Pages per person", st.PagesPerPerson)
	perPerson("Role stints per person", st.StintsPerPerson)
	if len(st.OverdueActions) > 0 {
		fmt.Fprintf(&b, "\n**Open action items past due (%d):**\n", len(st.OverdueActions))
		for _, o := range st.OverdueActions {
			owner := "nobody"
			if o.Item.Owner != "" {
				owner = "<@" + o.Item.Owner + ">"
			}
			fmt.Fprintf(&b, "- #%s item %d: %s (%s, due %s)\n", o.Incident, o.Item.N, TableCell(o.Item.Text), owner, o.Item.Due.Format("2006-01-02"))
		}
	}
	return b.String()
}

func durStats(d app.DurationStats) string {
	if d.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s (n=%d)", incident.FormatDuration(d.Mean), incident.FormatDuration(d.P90), d.N)
}
