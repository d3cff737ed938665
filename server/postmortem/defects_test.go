package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// shownScenario is a resolved incident whose events fall mid-second, as
// real ones do, opened by the bot's own account from an alert ("ubot"),
// under a title with Markdown in it.
func shownScenario() Input {
	at := func(s, ms int) time.Time { return time.Date(2026, 3, 12, 9, 0, s, ms*1e6, time.UTC) }
	inc := &incident.Incident{ID: "abc234", Title: "DB *primary* `down` [x](y) <!channel>", Severity: incident.S1,
		Status: incident.StatusResolved, CreatedAt: at(0, 100), CreatedBy: "ubot", ResolvedAt: at(40, 200)}
	evs := []incident.Event{
		ev(at(0, 100), "ubot", incident.EventStarted, "", incident.DataTo, "S1", "title", inc.Title),
		pageEv(at(0, 200), incident.ActorSystem, incident.EventPaged, "p1", "ucarol", incident.RoleL1, 1, ""),
		pageEv(at(4, 700), "ucarol", incident.EventPageAcknowledged, "p1", "ucarol", incident.RoleL1, 1, ""),
		ev(at(5, 0), incident.ActorSystem, incident.EventFreezeStarted, "frozen"),
		ev(at(40, 200), "ucarol", incident.EventResolved, "fixed"),
		ev(at(40, 900), incident.ActorSystem, incident.EventFreezeEnded, "ended"),
	}
	botName := func(id string) string {
		if id == "ubot" {
			return incident.BotName // as the bot adapter shows its own account
		}
		return name(id)
	}
	return Input{Incident: inc, Timeline: evs, Name: botName}
}

// TestDurationsAreTheDifferencesOfTheShownStamps: paged at 09:00:00.2 and
// acknowledged at 09:00:04.7, the postmortem shows 09:00:00 and 09:00:04
// and a time to acknowledge of 4s (rounding 4.5s said 5s); the freeze and
// the whole incident likewise.
func TestDurationsAreTheDifferencesOfTheShownStamps(t *testing.T) {
	md := Render(shownScenario())
	for _, want := range []string{
		"**Time to first acknowledgement:** 4s (first page 2026-03-12 09:00:00 UTC, first acknowledgement 2026-03-12 09:00:04 UTC)",
		"acknowledged by @carol at 2026-03-12 09:00:04, after 4s",
		"**Duration:** 40s",
		"From 2026-03-12 09:00:05 UTC to 2026-03-12 09:00:40 UTC: 35s",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, md)
		}
	}
}

// TestTitleIsEscapedAsInChat: the title's Markdown shows as typed, in the
// header and on the timeline, as in every chat post.
func TestTitleIsEscapedAsInChat(t *testing.T) {
	md := Render(shownScenario())
	escaped := "DB \\*primary\\* \\`down\\` \\[x\\](y) <!channel>"
	for _, want := range []string{"# Postmortem #abc234: " + escaped + "\n", "Started as S1: " + escaped + " |"} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, md)
		}
	}
}

// TestTheBotIsShownAsTheBot: the system actor and the bot's own account
// both read "the bot", and neither is listed as a participant.
func TestTheBotIsShownAsTheBot(t *testing.T) {
	md := Render(shownScenario())
	for _, want := range []string{"declared by the bot", "| 2026-03-12 09:00:00 | the bot | Started as S1", "| 2026-03-12 09:00:00 | the bot | Page 1"} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "| system |") {
		t.Errorf("the system actor shows as \"system\":\n%s", md)
	}
	_, participants, _ := strings.Cut(md, "## Participants")
	participants, _, _ = strings.Cut(participants, "##")
	if strings.Contains(participants, "the bot") {
		t.Errorf("the bot is listed as a participant:%s", participants)
	}
}
