package postmortem

import (
	"fmt"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// The scenarios are built with the domain's own methods where it has them,
// so that their events carry exactly the data the app records; staffing,
// paging and notes are built as the app builds them.

// names maps the test user ids to display names.
var names = map[string]string{
	"ualice": "@alice", "ubob": "@bob", "ucarol": "@carol", "udave": "@dave",
	"uerin": "@erin", "ufrank": "@frank", "ugrace": "@grace", "uheidi": "@heidi",
}

func name(id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return "@unknown-" + id
}

// timeline collects a scenario's events and assigns their Seq.
type timeline struct {
	t   *testing.T
	evs []incident.Event
}

func (tl *timeline) add(e incident.Event) {
	e.Seq = len(tl.evs)
	tl.evs = append(tl.evs, e)
}

// must adds the event a domain method returned, failing on its error.
func (tl *timeline) must(e incident.Event, err error) {
	tl.t.Helper()
	if err != nil {
		tl.t.Fatal(err)
	}
	tl.add(e)
}

// ev builds an event with data given as key, value pairs.
func ev(at time.Time, actor string, typ incident.EventType, text string, kv ...string) incident.Event {
	e := incident.NewEvent(at, actor, typ, text)
	for i := 0; i+1 < len(kv); i += 2 {
		e = e.With(kv[i], kv[i+1])
	}
	return e
}

// pageEv builds a paging event; text is the sentence the app writes.
func pageEv(at time.Time, actor string, typ incident.EventType, id, target string, role incident.Role, level int, text string) incident.Event {
	e := ev(at, actor, typ, text, incident.DataPage, id, incident.DataTarget, target, incident.DataLevel, fmt.Sprint(level))
	if role != "" {
		e = e.With(incident.DataRole, string(role))
	}
	return e
}

// richStart is 22:40 UTC, already the next day in Berlin (CEST).
var richStart = time.Date(2026, 6, 10, 22, 40, 0, 0, time.UTC)

// richScenario is a resolved S1 incident with everything a postmortem
// reports: substitutions and an open role at staffing, a page re-notified,
// escalated L1 -> L2 and acknowledged, a second page closed on resolution,
// an IM handover, four status updates (two late) and a reminder, a
// mitigation, a resolution, a reopen and a second resolution, lessons and
// plain notes, a release freeze while it was S1 and open, a hotfix with a
// substitute release manager signed off and one rejected, hostile user
// text, and action items open and done.
func richScenario(t *testing.T) Input {
	t.Helper()
	at := func(h, m, s int) time.Time {
		return richStart.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	tl := &timeline{t: t}
	inc := &incident.Incident{ID: "abc234", Title: "Checkout API returns 500s", Summary: "Error rate on /checkout above 20%.\nCustomers see \"payment failed\".", Severity: incident.S2, TeamID: "team", ChannelID: "chan"}
	tl.add(inc.Start(richStart, "ualice"))

	// Staffing, as app.staff records it.
	sys := incident.ActorSystem
	inc.Roles = map[incident.Role]string{incident.RoleIM: "ualice", incident.RoleL1: "ucarol", incident.RoleL2: "udave", incident.RoleRM: "ugrace"}
	tl.add(ev(richStart, sys, incident.EventRoleAssigned, "", incident.DataRole, "im", incident.DataTo, "ualice", incident.DataWhy, "rota"))
	tl.add(ev(richStart, sys, incident.EventRoleSubstituted, "<@ubob> is away; First line goes to <@ucarol>, next available in the First line rota",
		incident.DataRole, "l1", incident.DataFrom, "ubob", incident.DataWhy, "away", incident.DataTo, "ucarol"))
	tl.add(ev(richStart, sys, incident.EventRoleAssigned, "", incident.DataRole, "l1", incident.DataTo, "ucarol", incident.DataWhy, "substitute"))
	tl.add(ev(richStart, sys, incident.EventRoleAssigned, "", incident.DataRole, "l2", incident.DataTo, "udave", incident.DataWhy, "rota"))
	tl.add(ev(richStart, sys, incident.EventRoleSubstituted,
		"<@udave> is on duty for both Second line and Third line; keeps Second line; nobody else in the Third line rota is available, so Third line stays open",
		incident.DataRole, "l3", incident.DataFrom, "udave", incident.DataWhy, "double-duty"))
	tl.add(ev(richStart, sys, incident.EventRoleOpen, "nobody in the rota is available", incident.DataRole, "l3"))
	tl.add(ev(richStart, sys, incident.EventRoleAssigned, "", incident.DataRole, "rm", incident.DataTo, "ugrace", incident.DataWhy, "override"))

	// Page 1: L1 does not answer, re-notified twice, escalated to L2, who
	// is re-notified once and acknowledges.
	tl.add(pageEv(at(0, 1, 0), sys, incident.EventPaged, "abc234-p1", "ucarol", incident.RoleL1, 1, "<@ucarol> paged as First line (level 1)"))
	tl.add(pageEv(at(0, 6, 0), sys, incident.EventPageRenotified, "abc234-p1", "ucarol", incident.RoleL1, 1, "<@ucarol> notified again (level 1, notice 2)"))
	tl.must(inc.ChangeSeverity(at(0, 10, 0), "ualice", incident.S1))
	tl.add(ev(at(0, 10, 0), sys, incident.EventFreezeStarted, "S1 incident open: releases are frozen"))
	tl.add(pageEv(at(0, 11, 0), sys, incident.EventPageRenotified, "abc234-p1", "ucarol", incident.RoleL1, 1, "<@ucarol> notified again (level 1, notice 3)"))
	tl.add(pageEv(at(0, 16, 0), sys, incident.EventPageEscalated, "abc234-p1", "udave", incident.RoleL2, 2,
		"escalated to <@udave> as Second line (level 2): <@ucarol> did not acknowledge within 15m"))
	tl.add(pageEv(at(0, 21, 0), sys, incident.EventPageRenotified, "abc234-p1", "udave", incident.RoleL2, 2, "<@udave> notified again (level 2, notice 5)"))
	tl.add(pageEv(at(0, 23, 30), "udave", incident.EventPageAcknowledged, "abc234-p1", "udave", incident.RoleL2, 2, "page to <@udave> (level 2) acknowledged after 22m30s"))
	tl.must(inc.PostUpdate(at(0, 25, 0), "ualice", "Investigating elevated 500s on checkout. @channel please hold deploys; @all: no releases.\n\nNext update in 30 minutes."))

	// Page 2, for the release manager, never acknowledged.
	tl.add(pageEv(at(0, 40, 0), "ualice", incident.EventPaged, "abc234-p2", "ugrace", incident.RoleRM, 1, "<@ugrace> paged as Release manager (level 1): can we freeze the 4.2.2 release? @here FYI"))

	// Hotfix 1: the rollback, deployed by a substitute release manager.
	tl.add(hotfixRequested(at(0, 45, 0), "udave", "1", "ucarol", "ufrank", "qa",
		"<@ugrace> has not acknowledged her page; <@ufrank> is next available in the Release manager rota",
		"Roll back release 4.2.1 to 4.2.0.\nThe config change cannot be reverted on its own."))
	tl.add(hotfixSigned(at(0, 55, 0), "uheidi", "1", incident.StageStaging, "qa", incident.VerdictApproved, ""))
	tl.add(hotfixStageDone(at(0, 55, 0), "1", incident.StageStaging))

	// The second update is late: a reminder, then the update.
	if e, ok := inc.RemindUpdate(at(1, 0, 0), 30*time.Minute); !ok {
		t.Fatal("no reminder")
	} else {
		tl.add(e)
	}
	tl.add(ev(at(1, 2, 0), "ufrank", incident.EventHotfixDeployed, "", incident.DataHotfix, "1"))
	tl.must(inc.RequestHandover(at(1, 5, 0), "ualice", incident.RoleIM, "uerin", nil))
	tl.must(inc.AcceptHandover(at(1, 10, 0), "uerin", incident.RoleIM, nil))
	e, err := inc.PostUpdate(at(1, 12, 0), "ualice", "Rolled back release 4.2.1 | error rate falling.\nIM handed over to @erin.")
	tl.must(e.With(incident.DataOverdue, "17m0s"), err)
	tl.add(hotfixSigned(at(1, 25, 0), "uheidi", "1", incident.StageAfterDeploy, "qa", incident.VerdictApproved, ""))
	tl.add(hotfixStageDone(at(1, 25, 0), "1", incident.StageAfterDeploy))
	tl.must(inc.Mitigate(at(1, 30, 0), "uerin"))
	tl.must(inc.PostUpdate(at(1, 35, 0), "uerin", "Error rate back to baseline.\nMonitoring for 30 minutes."))
	tl.must(inc.Resolve(at(1, 50, 0), "uerin", "Bad config in release 4.2.1; rolled back."))
	tl.add(pageEv(at(1, 50, 0), sys, incident.EventPageClosed, "abc234-p2", "ugrace", incident.RoleRM, 1, "page to <@ugrace> closed unacknowledged: incident resolved"))
	tl.add(ev(at(1, 50, 0), sys, incident.EventFreezeEnded, "incident resolved"))

	// It comes back.
	tl.must(inc.Reopen(at(2, 10, 0), "uerin", "Errors returned in the EU region."))
	tl.add(ev(at(2, 10, 0), sys, incident.EventFreezeStarted, "S1 incident open: releases are frozen"))
	e, err = inc.PostUpdate(at(2, 12, 0), "uerin", "Reopened: EU checkout failing again; the EU override file still has the bad value.")
	tl.must(e.With(incident.DataOverdue, "7m0s"), err)
	// Hotfix 2 fails staging; a config push fixes it instead.
	tl.add(hotfixRequested(at(2, 15, 0), "udave", "2", "udave", "ugrace", "qa,support", "", "Drop the EU override value from the release config"))
	tl.add(hotfixSigned(at(2, 25, 0), "uheidi", "2", incident.StageStaging, "qa", incident.VerdictRejected,
		"Schema check fails on the EU file | needs the new validator"))
	tl.add(ev(at(2, 30, 0), "udave", incident.EventNote, "Config validation does not cover the EU override file | it needs a schema check.", DataLesson, "true"))
	tl.add(ev(at(2, 32, 0), "ucarol", incident.EventNote, "Dashboards lagged by 5 minutes; @here is not how we page."))
	tl.add(ev(at(2, 35, 0), "ufrank", incident.EventNote, "Paging L1 took three notifications:\ncarol's phone was on silent after an OS update.", DataLesson, "true"))
	tl.must(inc.Resolve(at(2, 40, 0), "uerin", "Removed the stale EU override (release 4.2.1's bad value).\nConfig validation now runs in CI for every override file."))
	tl.add(ev(at(2, 40, 0), sys, incident.EventFreezeEnded, "incident resolved"))
	tl.add(ev(at(2, 50, 0), "ualice", incident.EventNote, "We need a runbook for rolling back config separately from code.", DataLesson, "true"))

	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return Input{
		Incident: inc,
		Timeline: tl.evs,
		Impact:   "About 18% of checkout attempts failed for 1h30m, and EU checkouts again for 30m after the reopen.\n\n- Revenue: est. 40k EUR\n- Support tickets: 212",
		Actions: []ActionItem{
			{N: 3, Text: "Fix dashboard lag", Owner: ""},
			{N: 1, Text: "Add schema validation for EU override files | CI", Owner: "udave", Due: time.Date(2026, 6, 20, 0, 0, 0, 0, time.UTC)},
			{N: 4, Text: "Re-enable carol's paging app\nnotifications", Owner: "ucarol", Done: true, DoneAt: time.Date(2026, 6, 11, 9, 0, 0, 0, time.UTC)},
			{N: 2, Text: "Write a config rollback runbook", Owner: "ualice", Due: time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)},
		},
		Cadence:  30 * time.Minute,
		Location: loc,
		Name:     name,
		Now:      time.Date(2026, 6, 16, 10, 0, 0, 0, time.UTC),
	}
}

// draftStart is a winter time, CET in Berlin.
var draftStart = time.Date(2026, 1, 5, 14, 0, 0, 0, time.UTC)

// draftScenario is a small mitigated, unresolved S3 incident: one page
// never acknowledged, no status updates, no impact written, no actions.
func draftScenario(t *testing.T) Input {
	t.Helper()
	tl := &timeline{t: t}
	inc := &incident.Incident{ID: "xyz789", Title: "Search latency high", Severity: incident.S3}
	tl.add(inc.Start(draftStart, "ubob"))
	tl.must(inc.AssignRole(draftStart.Add(30*time.Second), "ubob", incident.RoleIM, "ubob", "take", nil))
	tl.add(pageEv(draftStart.Add(time.Minute), "ubob", incident.EventPaged, "xyz789-p9", "ufrank", "", 1, "<@ufrank> paged by name (level 1): search p99 is at 4s, @here please look"))
	tl.must(inc.Mitigate(draftStart.Add(20*time.Minute), "ubob"))
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return Input{
		Incident: inc,
		Timeline: tl.evs,
		Cadence:  20 * time.Minute,
		Location: loc,
		Name:     name,
		Now:      draftStart.Add(time.Hour),
	}
}
