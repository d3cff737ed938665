package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestLedgerHandoversPendingSupersededAndUnrequested(t *testing.T) {
	im, l1, l2 := string(incident.RoleIM), string(incident.RoleL1), string(incident.RoleL2)
	rec := inc(incident.StatusOpen, 0)
	rec.Roles = map[incident.Role]string{incident.RoleIM: "ubob", incident.RoleL1: "ucarol", incident.RoleL2: "udave", incident.RoleRM: "ugrace"}
	rec.Handovers = map[incident.Role]incident.Handover{incident.RoleL1: {To: "uerin", By: "ucarol", At: at(30)}}
	evs := []incident.Event{
		e(0, incident.EventStarted),
		e(0, incident.EventRoleAssigned, incident.DataRole, im, incident.DataTo, "ualice", incident.DataWhy, "rota"),
		e(0, incident.EventRoleAssigned, incident.DataRole, l1, incident.DataTo, "ucarol", incident.DataWhy, "rota"),
		e(1, incident.EventRoleAssigned, incident.DataRole, l2, incident.DataTo, "udave", incident.DataWhy, "take"),
		// A request replaced by a second one, which is accepted.
		ev(at(10), "ucarol", incident.EventHandoverAsked, "", incident.DataRole, l1, incident.DataFrom, "ucarol", incident.DataTo, "ufrank"),
		ev(at(20), "ucarol", incident.EventHandoverAsked, "", incident.DataRole, l1, incident.DataFrom, "ucarol", incident.DataTo, "uerin"),
		// An acceptance whose request is not on the timeline (text only).
		ev(at(25), "ubob", incident.EventHandoverDone, "requested "+at(22).Format(time.RFC3339),
			incident.DataRole, im, incident.DataFrom, "ualice", incident.DataTo, "ubob"),
		// A request still waiting.
		ev(at(30), "ucarol", incident.EventHandoverAsked, "", incident.DataRole, l1, incident.DataFrom, "ucarol", incident.DataTo, "uerin"),
	}
	md := Render(Input{Incident: rec, Timeline: evs, Name: name, Now: at(40)})
	for _, want := range []string{
		"| Incident manager | @alice | 2026-02-02 10:00:00 | 2026-02-02 10:25:00 (handed over) | rota |",
		"| Incident manager | @bob | 2026-02-02 10:25:00 | still holding | handover from @alice |",
		"| Second line | @dave | 2026-02-02 10:01:00 | still holding | take |",
		"| Release manager | @grace | 2026-02-02 10:00:00 | still holding | not on the timeline |",
		"- **First line** from @carol to @frank: requested by @carol at 2026-02-02 10:10:00 UTC; never accepted",
		"- **First line** from @carol to @erin: requested by @carol at 2026-02-02 10:20:00 UTC; never accepted",
		"- **Incident manager** from @alice to @bob: requested at 2026-02-02 10:22:00 UTC; accepted at 2026-02-02 10:25:00 UTC, after 3m",
		"- **First line** from @carol to @erin: requested by @carol at 2026-02-02 10:30:00 UTC; not accepted yet",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}

func TestLedgerReopenStartsNewTenures(t *testing.T) {
	rec := inc(incident.StatusResolved, 90)
	evs := []incident.Event{
		e(0, incident.EventStarted),
		e(0, incident.EventRoleAssigned, incident.DataRole, "im", incident.DataTo, "ualice", incident.DataWhy, "rota"),
		e(30, incident.EventResolved), e(60, incident.EventReopened), e(90, incident.EventResolved),
	}
	m := Compute(rec, evs, 0)
	l := buildLedger(rec, evs, m)
	if len(l.tenures) != 2 {
		t.Fatalf("tenures: %+v", l.tenures)
	}
	a, b := l.tenures[0], l.tenures[1]
	if a.from != at(0) || a.to != at(30) || a.end != "resolved" || b.from != at(60) || b.to != at(90) || b.how != "reopened" {
		t.Errorf("tenures: %+v", l.tenures)
	}
}
