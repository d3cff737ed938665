package plugin_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// Defects a new user met trying the product (issue 11, item 8), each
// proven on the real server: replies show titles as typed, durations read
// the same everywhere (from the times as shown), titles show their
// Markdown as typed everywhere, the incident manager is told how to get a
// line role, and the bot is "the bot" wherever it acts.

// defectSettings sets the broadcast channel and quiet paging (no
// escalation, no re-notification) for a test, and restores the defaults
// after it.
func defectSettings(t *testing.T, ctx context.Context, extra map[string]any) {
	t.Helper()
	settings := map[string]any{"BroadcastChannelID": broadcast.Id,
		"EscalationTimeouts": "S1=off, S2=off, S3=off, S4=off", "RenotifyInterval": "off", "UpdateCadence": "S1=off, S2=off, S3=off, S4=off"}
	for k, v := range extra {
		settings[k] = v
	}
	if err := srv.PatchPluginConfig(ctx, pluginID, settings); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(context.Background(), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id}); err != nil {
			t.Error(err)
		}
	})
}

// ephemerals watches the posts one user is shown, over a websocket, as
// the web app receives them: after the server's processing of a reply,
// which the REST answer of a command does not all show.
type ephemerals struct{ *harness.Watcher }

func watchEphemerals(t *testing.T, u *harness.User) ephemerals {
	t.Helper()
	w, err := srv.Watch(ctxT(t), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return ephemerals{w}
}

// wait returns the message of the first ephemeral post in channelID that
// contains want.
func (w ephemerals) wait(t *testing.T, channelID, want string) string {
	t.Helper()
	seen, err := w.Wait(ctxT(t), 0, wait, func(s harness.Seen) bool {
		return s.Kind == model.WebsocketEventEphemeralMessage && s.Post.ChannelId == channelID && strings.Contains(s.Post.Message, want)
	})
	if err != nil {
		t.Fatalf("ephemeral post containing %q: %v", want, err)
	}
	return seen.Post.Message
}

// postmortemFile runs `/incident postmortem` as u in the incident's
// channel and returns the Markdown file of the postmortem it posts.
func postmortemFile(t *testing.T, u *harness.User, s started) string {
	t.Helper()
	since := model.GetMillis()
	mustContain(t, "postmortem", cmd(t, u, s.Channel.Id, "/incident postmortem").Text, "posted")
	var fileID string
	harness.Eventually(t, wait, "postmortem file of #"+s.ID, func() (bool, error) {
		posts, err := srv.Posts(ctxT(t), u, s.Channel.Id)
		for _, p := range posts {
			if p.UserId == botUser.Id && p.GetProp("incident_id") == s.ID && p.GetProp("postmortem_part") != nil &&
				p.CreateAt >= since && len(p.FileIds) == 1 {
				fileID = p.FileIds[0]
			}
		}
		return fileID != "", err
	})
	b, _, err := u.Client.GetFile(ctxT(t), fileID)
	if err != nil {
		t.Fatalf("download the postmortem of #%s: %v", s.ID, err)
	}
	return string(b)
}

// tlEvent is a timeline event as the plugin stores it, to the nanosecond.
type tlEvent struct {
	At    time.Time `json:"at"`
	Type  string    `json:"type"`
	Actor string    `json:"actor"`
}

// storedEvent waits until the stored timeline of incident id holds an
// event of type typ, and returns the first.
func storedEvent(t *testing.T, id, typ string) tlEvent {
	t.Helper()
	db, err := sql.Open("postgres", srv.DataSource)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var found tlEvent
	harness.Eventually(t, wait, typ+" on the stored timeline of #"+id, func() (bool, error) {
		rows, err := db.QueryContext(ctxT(t), `SELECT pkey, pvalue FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey LIKE $2`,
			pluginID, "tl/v1/"+id+"/%")
		if err != nil {
			return false, err
		}
		defer rows.Close()
		ok := false
		for rows.Next() {
			var key string
			var raw []byte
			if err := rows.Scan(&key, &raw); err != nil {
				return false, err
			}
			if _, err := strconv.Atoi(key[strings.LastIndex(key, "/")+1:]); err != nil {
				continue // the head hint
			}
			var chunk struct {
				Events []tlEvent `json:"e"`
			}
			if err := json.Unmarshal(raw, &chunk); err != nil {
				return false, fmt.Errorf("decode %s: %w", key, err)
			}
			for _, e := range chunk.Events {
				if e.Type == typ && (!ok || e.At.Before(found.At)) {
					found, ok = e, true
				}
			}
		}
		return ok, rows.Err()
	})
	return found
}

const shownStamp = "2006-01-02 15:04:05"

// TestTimelineReplyShowsAnglyTitleAsTyped: a title holding "<...>" shows
// literally in the /incident timeline reply, as the REST answer and as the
// ephemeral post the user sees: the server's Slack-compatibility rewriting
// neither turns "<!channel>" into "@channel" nor turns the text from
// "<primary>" to the next ">" into a link that swallows the table.
func TestTimelineReplyShowsAnglyTitleAsTyped(t *testing.T) {
	ctx := ctxT(t)
	defectSettings(t, ctx, nil)
	u := srv.Users[2]
	title := "DB <primary> down <!channel> " + uniq()
	s := start(t, u, title+" --severity S4")
	waitCmd(t, u, s.Channel.Id, "/incident timeline", "started as S4")

	w := watchEphemerals(t, u)
	head := "#### Timeline of incident #" + s.ID + ": " + title + "\n| Time (UTC) | Who | Event |\n|---|---|---|\n"
	reply := cmd(t, u, s.Channel.Id, "/incident timeline").Text
	mustContain(t, "timeline reply", reply, head, "started as S4: "+title)
	if strings.Contains(reply, "@channel") {
		t.Errorf("the reply turned <!channel> into a mention:\n%s", reply)
	}
	shown := w.wait(t, s.Channel.Id, "Timeline of incident #"+s.ID)
	mustContain(t, "timeline as shown", shown, head, "started as S4: "+title)
	if strings.Contains(shown, "](") || strings.Contains(shown, "@channel") {
		t.Errorf("the timeline as shown is rewritten:\n%s", shown)
	}
}

// TestTimeToAcknowledgeIsTheDifferenceOfTheShownStamps: the first line
// acknowledges a page more than half a second later in the second than it
// was sent (X.2 s → Y.9 s), where rounding the exact difference says one
// second more than the stamps; the postmortem's time to acknowledge is
// exactly the difference of the two times it lists.
func TestTimeToAcknowledgeIsTheDifferenceOfTheShownStamps(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=10m, S2=10m, S3=10m, S4=off", "off")
	r := newPagingRota(t, ctx, "tta"+uniq())
	l1 := r.holder["l1"]
	s := start(t, r.starter, "Checkout slow --severity S2")
	page := waitPagePost(t, ctx, l1, r.channel.Id, l1)
	paged := storedEvent(t, s.ID, "paged").At

	// Click at the page's sub-second phase plus 0.7 s (a computed instant,
	// not a guess at a delay): the acknowledgement, recorded a few
	// milliseconds later, lands 0.5 to 1 s into the second after the
	// page's phase, where rounding and the stamps disagree.
	at := paged.Add(700 * time.Millisecond)
	for at.Before(time.Now().Add(200 * time.Millisecond)) {
		at = at.Add(time.Second)
	}
	time.Sleep(time.Until(at))
	if _, err := srv.ClickButton(ctx, l1, page.Id, "ackpage"); err != nil {
		t.Fatal(err)
	}
	acked := storedEvent(t, s.ID, "page_acknowledged").At
	if phase := (acked.Sub(paged) % time.Second); phase < 500*time.Millisecond {
		t.Logf("the acknowledgement landed only %v past the page's phase: this run does not reach the rounding edge", phase)
	}

	mustContain(t, "resolve", cmd(t, r.starter, s.Channel.Id, "/incident resolve back to normal").Text, "resolved")
	md := postmortemFile(t, r.starter, s)
	m := regexp.MustCompile(`\*\*Time to first acknowledgement:\*\* ([0-9dhms ]+) \(first page (\S+ \S+) UTC, first acknowledgement (\S+ \S+) UTC\)`).FindStringSubmatch(md)
	if m == nil {
		t.Fatalf("postmortem lacks the time to acknowledge:\n%s", md)
	}
	if m[2] != paged.UTC().Format(shownStamp) || m[3] != acked.UTC().Format(shownStamp) {
		t.Errorf("postmortem lists %s and %s, the timeline holds %s and %s", m[2], m[3], paged, acked)
	}
	from, _ := time.Parse(shownStamp, m[2])
	to, _ := time.Parse(shownStamp, m[3])
	if got := durOf(t, md, `\*\*Time to first acknowledgement:\*\* ([0-9dhms ]+) `); got != to.Sub(from) {
		t.Errorf("time to acknowledge %q, but its own times %s and %s are %s apart", m[1], m[2], m[3], to.Sub(from))
	}
}

// TestFreezeLengthIsTheSameInBroadcastAndPostmortem: the broadcast that
// ends a release freeze says it lasted exactly what the postmortem says,
// to the second, and that is the difference of the postmortem's stamps.
func TestFreezeLengthIsTheSameInBroadcastAndPostmortem(t *testing.T) {
	ctx := ctxT(t)
	defectSettings(t, ctx, nil)
	// Earlier tests leave S1 incidents open; the freeze must be this one's.
	for _, m := range holdingRow.FindAllStringSubmatch(cmd(t, srv.Admin, srv.TownSquare.Id, "/incident freeze").Text, -1) {
		cmd(t, srv.Admin, srv.TownSquare.Id, "/incident resolve #"+m[1]+" left over by an earlier test")
	}
	u := srv.Users[5]
	waitCmd(t, u, srv.TownSquare.Id, "/incident freeze", "No release freeze")
	s := start(t, u, "Everything down "+uniq()+" --severity S1")
	waitPost(t, u, broadcast.Id, "Release freeze** from", "#"+s.ID)
	resolvedAt := model.GetMillis()
	mustContain(t, "resolve", cmd(t, u, s.Channel.Id, "/incident resolve back up").Text, "resolved")

	lasted := regexp.MustCompile(`Release freeze ended\*\* at .*It lasted ([^.]+)\.`)
	var said string
	harness.Eventually(t, wait, "the freeze's end broadcast", func() (bool, error) {
		posts, err := srv.Posts(ctx, u, broadcast.Id)
		for _, p := range posts {
			if m := lasted.FindStringSubmatch(p.Message); m != nil && p.UserId == botUser.Id && p.CreateAt >= resolvedAt {
				said = m[1]
			}
		}
		return said != "", err
	})
	waitCmd(t, u, s.Channel.Id, "/incident timeline", "release freeze ended")
	md := postmortemFile(t, u, s)
	m := regexp.MustCompile(`- From (\S+ \S+) UTC to (\S+ \S+) UTC: ([0-9dhms ]+)\n`).FindStringSubmatch(md)
	if m == nil {
		t.Fatalf("postmortem lacks the freeze:\n%s", md)
	}
	if said != m[3] {
		t.Errorf("the broadcast says the freeze lasted %q, the postmortem %q", said, m[3])
	}
	from, _ := time.Parse(shownStamp, m[1])
	to, _ := time.Parse(shownStamp, m[2])
	if got := durOf(t, m[0], `: ([0-9dhms ]+)\n`); got != to.Sub(from) {
		t.Errorf("the freeze lasted %q, but its stamps %s and %s are %s apart", m[3], m[1], m[2], to.Sub(from))
	}
}

// TestTitleMarkdownShowsAsTypedEverywhere: a title with Markdown in it is
// escaped the same way in the broadcast, on the card and in the
// postmortem, so it reads as typed in all of them.
func TestTitleMarkdownShowsAsTypedEverywhere(t *testing.T) {
	ctx := ctxT(t)
	defectSettings(t, ctx, nil)
	u := srv.Users[4]
	id := uniq()
	s := start(t, u, "Cache *warm* path_down "+id+" --severity S4")
	shown := `Cache \*warm\* path\_down ` + id
	waitPost(t, u, broadcast.Id, "#"+s.ID, shown)
	if title := card(t, u, s).Attachments()[0].Title; !strings.HasSuffix(title, ": "+shown) {
		t.Errorf("card title %q, want it to end in %q", title, shown)
	}
	md := postmortemFile(t, u, s)
	mustContain(t, "postmortem", md, "# Postmortem draft #"+s.ID+": "+shown+"\n", "Started as S4: "+shown+" |")
}

// TestIMAskingForALineRoleIsToldToHandOverIMFirst: the incident manager
// asking for the second line role, held by someone else, is told to hand
// the IM role over first (a handover of the line role to them would be
// refused while they hold it), and following the advice works.
func TestIMAskingForALineRoleIsToldToHandOverIMFirst(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=off, S2=off, S3=off, S4=off", "off")
	r := newPagingRota(t, ctx, "imr"+uniq())
	im, l2, starter := r.holder["im"], r.holder["l2"], r.starter
	s := start(t, starter, "Search degraded --severity S4")
	waitCard(t, starter, s, "IM and second line staffed from the rota", func(p *model.Post) bool {
		return strings.HasPrefix(roleLine(p, "Incident manager"), "Incident manager: @"+im.Username) &&
			strings.HasPrefix(roleLine(p, "Second line"), "Second line: @"+l2.Username)
	})

	reply := cmd(t, im, s.Channel.Id, "/incident role l2 @"+im.Username).Text
	first, then := strings.Index(reply, "`/incident handover im @someone`"), strings.Index(reply, "`/incident handover l2 @"+im.Username+"`")
	if !strings.Contains(reply, "already holds Incident manager") || first < 0 || then < first {
		t.Fatalf("the IM asking for second line is told %q; want: hand Incident manager over first, then ask for second line", reply)
	}

	// Following the advice works: IM to the starter, then second line.
	mustContain(t, "hand IM over", cmd(t, im, s.Channel.Id, "/incident handover im @"+starter.Username).Text, "requested")
	hp := waitPost(t, starter, s.Channel.Id, "asks you to take over **Incident manager**")
	if _, err := srv.ClickButton(ctx, starter, hp.Id, "acceptim"); err != nil {
		t.Fatal(err)
	}
	waitCard(t, starter, s, "IM handed over", func(p *model.Post) bool {
		return strings.HasPrefix(roleLine(p, "Incident manager"), "Incident manager: @"+starter.Username)
	})
	mustContain(t, "second line", cmd(t, im, s.Channel.Id, "/incident handover l2 @"+im.Username).Text, "requested")
}

// TestReminderAndSnoozeShowHumanDurations: the reminder's snooze buttons
// read "Snooze 15m", "Snooze 30m", "Snooze 1h", and snoozing says "1h" in
// the reply and on the timeline, not "1h0m0s".
func TestReminderAndSnoozeShowHumanDurations(t *testing.T) {
	ctx := ctxT(t)
	defectSettings(t, ctx, map[string]any{"UpdateCadence": "S1=off, S2=off, S3=off, S4=3s"})
	starter := srv.Users[7]
	s := start(t, starter, "Reminder durations "+uniq()+" --severity S4")
	im := starter // with nobody as IM, the starter gets the reminder
	for _, u := range srv.Users {
		if strings.HasPrefix(roleLine(s.Card, "Incident manager"), "Incident manager: @"+u.Username) {
			im = u
		}
	}
	dmCh := dm(t, ctx, im)
	var reminder *model.Post
	harness.Eventually(t, wait, "reminder DM to the IM", func() (bool, error) {
		posts, err := srv.Posts(ctx, im, dmCh.Id)
		for _, p := range posts {
			if p.GetProp("incident_id") == s.ID && p.GetProp("update_reminder") == true {
				reminder = p
			}
		}
		return reminder != nil, err
	})
	mustContain(t, "reminder", reminder.Message, "stakeholders expect one every 3s")
	var names []string
	for _, a := range reminder.Attachments()[0].Actions {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ", "); got != "Post update, Snooze 15m, Snooze 30m, Snooze 1h" {
		t.Errorf("reminder buttons %q", got)
	}

	w := watchEphemerals(t, im)
	if _, err := srv.ClickButton(ctx, im, reminder.Id, "snooze60"); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "snooze reply", w.wait(t, dmCh.Id, "snoozed for"), "Update reminders for #"+s.ID+" snoozed for 1h.")
	waitCmd(t, im, s.Channel.Id, "/incident timeline", "update snoozed: reminders snoozed for 1h |")
	mustContain(t, "resolve", cmd(t, starter, s.Channel.Id, "/incident resolve drill over").Text, "resolved")
}

// TestAlertEventsShowTheBotAsActor: an incident opened by an alert, and
// the alert's repeat, are the bot's doing; the timeline reply and the
// postmortem show "the bot", as for every other event the bot causes, not
// the bot account's username.
func TestAlertEventsShowTheBotAsActor(t *testing.T) {
	ctx := ctxT(t)
	const token = "e2e-defects-alert-token-8d2e41"
	defectSettings(t, ctx, map[string]any{"AlertmanagerToken": token})
	name := "DiskFull" + uniq()
	fp := fmt.Sprintf("%016x", time.Now().UnixNano())
	code, res := postAlert(t, alertsURL("alertmanager"), token, true, amPayload("firing", fp, name))
	ids, _ := res["incidents"].([]any)
	if code != http.StatusOK || res["opened"] != float64(1) || len(ids) != 1 {
		t.Fatalf("firing: %d %v", code, res)
	}
	id := ids[0].(string)
	if code, res = postAlert(t, alertsURL("alertmanager"), token, true, amPayload("firing", fp, name)); code != http.StatusOK || res["attached"] != float64(1) {
		t.Fatalf("repeat: %d %v", code, res)
	}
	u := srv.Users[3]
	bot := "@" + botUser.Username + " |"
	tl := waitCmd(t, u, srv.TownSquare.Id, "/incident timeline "+id, "| the bot | started as", "| the bot | alert repeated")
	if strings.Contains(tl, bot) {
		t.Errorf("the timeline shows the bot as %s:\n%s", bot, tl)
	}
	admin := srv.Admin
	ch, _, err := admin.Client.GetChannelByName(ctx, "incident-"+id+"-"+strings.ToLower(name)+"-on-db-1", srv.Team.Id, "")
	if err != nil {
		t.Fatalf("incident channel of %s: %v", id, err)
	}
	if _, _, err := admin.Client.AddChannelMember(ctx, ch.Id, admin.Id); err != nil {
		t.Fatal(err)
	}
	md := postmortemFile(t, admin, started{ID: id, Channel: ch})
	mustContain(t, "postmortem", md, "declared by the bot", "| the bot | Started as")
	if strings.Contains(md, "| system |") || strings.Contains(md, bot) {
		t.Errorf("the postmortem shows the bot otherwise than as the bot:\n%s", md)
	}
	mustContain(t, "resolve", cmd(t, admin, ch.Id, "/incident resolve disk cleaned").Text, "resolved")
}
