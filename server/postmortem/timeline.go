package postmortem

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// previewRunes is how much of a status update the timeline table shows; the
// Status updates section has them in full.
const previewRunes = 120

// participant is what one person did on the incident.
type participant struct {
	id, name string
	roles    []incident.Role
	paged    int // times notified by a page
	entries  int // timeline entries they caused
	declared bool
}

func (r *renderer) participants() {
	r.section("Participants")
	byID := map[string]*participant{}
	get := func(id string) *participant {
		p := byID[id]
		if p == nil {
			p = &participant{id: id, name: r.name(id)}
			byID[id] = p
		}
		return p
	}
	// The bot (the system actor, or its account opening an incident from
	// an alert) is no participant.
	person := func(id string) bool { return id != "" && r.name(id) != incident.BotName }
	if id := r.inc.CreatedBy; person(id) {
		get(id).declared = true
	}
	for _, e := range r.evs {
		if person(e.Actor) {
			get(e.Actor).entries++
		}
		switch e.Type {
		case incident.EventPaged, incident.EventPageRenotified, incident.EventPageEscalated:
			if t := e.Data[incident.DataTarget]; t != "" {
				get(t).paged++
			}
		}
	}
	for _, t := range r.l.tenures {
		if p := get(t.user); !slices.Contains(p.roles, t.role) {
			p.roles = append(p.roles, t.role)
		}
	}
	if len(byID) == 0 {
		r.b.WriteString("_Nobody is on record._\n\n")
		return
	}
	list := make([]*participant, 0, len(byID))
	for _, p := range byID {
		list = append(list, p)
	}
	slices.SortFunc(list, func(a, b *participant) int {
		if c := strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name)); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	for _, p := range list {
		var what []string
		if p.declared {
			what = append(what, "declared the incident")
		}
		if len(p.roles) > 0 {
			titles := make([]string, len(p.roles))
			for i, role := range p.roles {
				titles[i] = role.Title()
			}
			what = append(what, strings.Join(titles, ", "))
		}
		if p.paged > 0 {
			what = append(what, "paged "+times(p.paged))
		}
		if p.entries > 0 {
			what = append(what, plural(p.entries, "timeline entry", "timeline entries"))
		}
		r.printf("- %s: %s\n", p.name, strings.Join(what, "; "))
	}
	r.b.WriteString("\n")
}

func (r *renderer) updates() {
	r.section("Status updates")
	n := 0
	for _, e := range r.evs {
		if e.Type != incident.EventStatusUpdate {
			continue
		}
		n++
		r.printf("### Update %d: %s UTC, %s\n\n", n, stamp(e.At), r.name(e.Actor))
		if o := overdue(e); o != "" {
			r.printf("_Posted %s after it was due._\n\n", o)
		}
		r.b.WriteString(quote(e.Text) + "\n\n")
	}
	if n == 0 {
		r.b.WriteString("_No status updates were posted._\n\n")
	}
}

func (r *renderer) timeline() {
	r.section("Timeline")
	if len(r.evs) == 0 {
		r.b.WriteString("_The timeline is empty._\n")
		return
	}
	r.b.WriteString("| Time (UTC) | Actor | Event |\n|---|---|---|\n")
	update := 0
	for _, e := range r.evs {
		if e.Type == incident.EventStatusUpdate {
			update++
		}
		r.b.WriteString("| ")
		r.b.WriteString(stamp(e.At))
		r.b.WriteString(" | ")
		r.b.WriteString(cell(r.name(e.Actor)))
		r.b.WriteString(" | ")
		r.b.WriteString(cell(r.describe(e, update)))
		r.b.WriteString(" |\n")
	}
}

// describe says what e is in one line; update is the number of the status
// update e is, if it is one. User text stays as written; domain text (with
// <@id> references) has its users named.
func (r *renderer) describe(e incident.Event, update int) string {
	d := e.Data
	role := incident.Role(d[incident.DataRole])
	users := func(s string) string { return renderUsers(s, r.name) }
	with := func(s, text string) string {
		if text = strings.TrimSpace(text); text != "" {
			return s + ": " + text
		}
		return s
	}
	switch e.Type {
	case incident.EventStarted:
		s := "Started"
		if sev, t := d[incident.DataTo], title(d["title"]); sev != "" || t != "" {
			s = fmt.Sprintf("Started as %s: %s", sev, t)
		}
		if text := strings.TrimSpace(e.Text); text != "" {
			s += " — " + text
		}
		return s
	case incident.EventStatusUpdate:
		s := fmt.Sprintf("Status update %d", update)
		if o := overdue(e); o != "" {
			s += " (" + o + " late)"
		}
		return with(s, preview(e.Text))
	case incident.EventNote:
		if isLesson(e) {
			return with("Lesson", e.Text)
		}
		return with("Note", e.Text)
	case incident.EventSeverityChanged:
		return fmt.Sprintf("Severity %s → %s", d[incident.DataFrom], d[incident.DataTo])
	case incident.EventMitigated:
		return with("Mitigated", e.Text)
	case incident.EventResolved:
		return with("Resolved", e.Text)
	case incident.EventReopened:
		return with("Reopened", e.Text)
	case incident.EventTitleChanged:
		if d[incident.DataTo] != "" {
			return fmt.Sprintf("Title changed from “%s” to “%s”", title(d[incident.DataFrom]), title(d[incident.DataTo]))
		}
		return with("Title changed", e.Text)
	case incident.EventRotaChanged:
		return fmt.Sprintf("Rota %s → %s", d[incident.DataFrom], d[incident.DataTo])
	case incident.EventRoleAssigned:
		s := fmt.Sprintf("%s: %s", role.Title(), r.name(d[incident.DataTo]))
		if why := d[incident.DataWhy]; why != "" {
			s += " (" + why + ")"
		}
		return s
	case incident.EventRoleSubstituted:
		return with("Substitution for "+role.Title(), users(e.Text))
	case incident.EventRoleOpen:
		return with(role.Title()+" left open", users(e.Text))
	case incident.EventHandoverAsked:
		return fmt.Sprintf("Handover of %s from %s to %s requested", role.Title(), r.name(d[incident.DataFrom]), r.name(d[incident.DataTo]))
	case incident.EventHandoverDone:
		return fmt.Sprintf("Handover of %s from %s to %s accepted", role.Title(), r.name(d[incident.DataFrom]), r.name(d[incident.DataTo]))
	case incident.EventUpdateReminder:
		return with("Update reminder", users(e.Text))
	case incident.EventUpdateSnoozed:
		return with("Reminders snoozed", users(e.Text))
	case incident.EventAlertRepeated:
		return with("Alert fired again ("+e.Data[incident.DataAlertSource]+")", e.Text)
	case incident.EventAlertResolved:
		return with("Alert resolved by "+e.Data[incident.DataAlertSource], e.Text)
	case incident.EventHotfixRequested:
		return with(hotfixRef(d)+" requested", preview(e.Text))
	case incident.EventHotfixSigned:
		group := oneLine(d[incident.DataGroup])
		if group == "" {
			group = "A group"
		}
		verdict := oneLine(d[incident.DataVerdict])
		if verdict == "" {
			verdict = "signed"
		}
		return with(fmt.Sprintf("%s %s %s (%s)", group, verdict, stageName(d[incident.DataStage]), strings.ToLower(hotfixRef(d))), e.Text)
	case incident.EventHotfixStageDone:
		if d[incident.DataStage] == incident.StageAfterDeploy {
			return hotfixRef(d) + " signed off after deploy"
		}
		return fmt.Sprintf("%s signed off (%s)", hotfixStageTitle(d[incident.DataStage]), strings.ToLower(hotfixRef(d)))
	case incident.EventHotfixDeployed:
		return hotfixRef(d) + " deployed"
	case incident.EventHotfixCancelled:
		return with(hotfixRef(d)+" cancelled", e.Text)
	case incident.EventFreezeStarted:
		return with("Release freeze started", users(e.Text))
	case incident.EventFreezeEnded:
		return with("Release freeze ended", users(e.Text))
	case incident.EventPaged, incident.EventPageRenotified, incident.EventPageEscalated,
		incident.EventPageAcknowledged, incident.EventPageClosed:
		return r.describePage(e)
	case incident.EventPageOutside:
		return with("Page beyond the chat", users(e.Text))
	case incident.EventRunbookAttached:
		return with(fmt.Sprintf("Runbook %s (version %s) attached", d[incident.DataRunbook], d[incident.DataVersion]), e.Text)
	case incident.EventRunbookChanged:
		return fmt.Sprintf("Added steps applied as version %s of runbook %s", d[incident.DataVersion], d[incident.DataRunbook])
	case incident.EventStepDone, incident.EventStepSkipped, incident.EventStepUndone, incident.EventStepAdded:
		verb := map[incident.EventType]string{incident.EventStepDone: "done", incident.EventStepSkipped: "skipped",
			incident.EventStepUndone: "undone", incident.EventStepAdded: "added"}[e.Type]
		s := fmt.Sprintf("Runbook step %s %s: %s", d[incident.DataStep], verb, title(e.Text))
		if role != "" {
			s += " (" + role.Title() + ")"
		}
		if reason := d[incident.DataReason]; reason != "" {
			s += " — " + title(reason)
		}
		return s
	}
	return with(strings.ReplaceAll(string(e.Type), "_", " "), e.Text)
}

// hotfixRef names the hotfix of a hotfix event: "Hotfix 2", or "Hotfix"
// when the event has no number.
func hotfixRef(d map[string]string) string {
	if n := oneLine(d[incident.DataHotfix]); n != "" {
		return "Hotfix " + n
	}
	return "Hotfix"
}

// hotfixStageTitle is a stage's name at the start of a sentence.
func hotfixStageTitle(key string) string {
	if i := stageIndex(key); i >= 0 {
		return hotfixStages[i].title
	}
	if s := stageName(key); s != "" {
		return "Stage " + s
	}
	return "Stage"
}

// describePage says what a paging event is: "Page 2: " and the event's own
// sentence, or one built from its data when it has none.
func (r *renderer) describePage(e incident.Event) string {
	d := e.Data
	ref := "Page"
	if n := r.pageNo[d[incident.DataPage]]; n > 0 {
		ref = fmt.Sprintf("Page %d", n)
	}
	if text := strings.TrimSpace(e.Text); text != "" {
		return ref + ": " + renderUsers(text, r.name)
	}
	target := r.name(d[incident.DataTarget])
	as := ""
	if role := incident.Role(d[incident.DataRole]); role != "" {
		as = " as " + role.Title()
	}
	level := ""
	if lv := d[incident.DataLevel]; lv != "" {
		level = " (level " + lv + ")"
	}
	switch e.Type {
	case incident.EventPaged:
		return fmt.Sprintf("%s: %s paged%s%s", ref, target, as, level)
	case incident.EventPageRenotified:
		return fmt.Sprintf("%s: %s notified again%s", ref, target, level)
	case incident.EventPageEscalated:
		return fmt.Sprintf("%s: escalated to %s%s%s", ref, target, as, level)
	case incident.EventPageAcknowledged:
		return fmt.Sprintf("%s: page to %s%s acknowledged", ref, target, level)
	}
	return fmt.Sprintf("%s: page to %s%s closed unacknowledged", ref, target, level)
}

// overdue returns how late a status update was, "" if on time.
func overdue(e incident.Event) string {
	o := e.Data[incident.DataOverdue]
	if d, err := time.ParseDuration(o); err == nil {
		if d <= 0 {
			return ""
		}
		return dur(d)
	}
	return oneLine(o)
}

// preview returns the start of s on one line, with "…" if it was cut.
func preview(s string) string {
	s = oneLine(s)
	if utf8.RuneCountInString(s) <= previewRunes {
		return s
	}
	n := 0
	for i := range s {
		if n == previewRunes {
			return strings.TrimRight(s[:i], " ") + "…"
		}
		n++
	}
	return s
}
