package plugin_test

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// TestOverdueStatusUpdateRemindsTheIM: with a 3 s cadence for S2 the IM
// gets a reminder DM with Post update and Snooze buttons; snoozing stops the
// reminders and goes on the timeline with the reminder.
func TestOverdueStatusUpdateRemindsTheIM(t *testing.T) {
	ctx := ctxT(t)
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id,
		"UpdateCadence": "S1=off, S2=3s, S3=off, S4=off", "EscalationTimeouts": "S1=off, S2=off, S3=off, S4=off"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(ctxT(t), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id}); err != nil {
			t.Error(err)
		}
	})
	starter := srv.Users[7]
	s := start(t, starter, "Reminder drill --severity S2")

	// The IM gets the reminder; with nobody as IM, the starter does.
	im := starter
	for _, u := range srv.Users {
		if strings.HasPrefix(roleLine(s.Card, "Incident manager"), "Incident manager: @"+u.Username) {
			im = u
		}
	}
	dm, err := srv.DirectChannel(ctx, im, &harness.User{User: botUser})
	if err != nil {
		t.Fatal(err)
	}
	var reminder *model.Post
	harness.Eventually(t, wait, "reminder DM to the IM", func() (bool, error) {
		posts, err := srv.Posts(ctx, im, dm.Id)
		for _, p := range posts {
			if p.GetProp("incident_id") == s.ID && p.GetProp("update_reminder") == true {
				reminder = p
			}
		}
		return reminder != nil, err
	})
	mustContain(t, "reminder", reminder.Message, "overdue", "#"+s.ID)
	var ids []string
	for _, a := range reminder.Attachments()[0].Actions {
		ids = append(ids, a.Id)
	}
	if got := strings.Join(ids, ","); got != "remindupdate,snooze15,snooze30,snooze60" {
		t.Errorf("reminder buttons = %s", got)
	}

	if _, err := srv.ClickButton(ctx, im, reminder.Id, "snooze15"); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, wait, "snooze on the timeline", func() (bool, error) {
		r, err := srv.ExecuteCommand(ctx, im, s.Channel.Id, "/incident timeline")
		return err == nil && strings.Contains(r.Text, "update snoozed: reminders snoozed for 15m"), err
	})
	count := func() int {
		posts, err := srv.Posts(ctx, im, dm.Id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range posts {
			if p.GetProp("incident_id") == s.ID && p.GetProp("update_reminder") == true {
				n++
			}
		}
		return n
	}
	before := count()
	waitTicks(t, ctx, 2) // more than a cadence passes; the snooze holds
	if after := count(); after != before {
		t.Errorf("reminders went on while snoozed: %d -> %d", before, after)
	}
	tl := cmd(t, im, s.Channel.Id, "/incident timeline").Text
	mustContain(t, "timeline", tl, "update reminder: status update overdue by")

	// The Post update button is served (it opens the dialog for the clicker).
	if _, err := srv.ClickButton(ctx, im, reminder.Id, "remindupdate"); err != nil {
		t.Errorf("post update from the reminder: %v", err)
	}
	// A stranger who cannot see the incident cannot snooze it.
	if _, err := srv.ClickButton(ctx, srv.Users[6], reminder.Id, "snooze60"); err == nil {
		t.Errorf("someone else clicked the IM's reminder")
	}
}
