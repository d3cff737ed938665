package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/store/boltstore"
)

// mmid makes a 26-character id, as Mattermost's are.
func mmid(prefix string) string { return prefix + strings.Repeat("x", 26-len(prefix)) }

var (
	alice   = mmid("alice")
	bob     = mmid("bob")
	gone    = mmid("gone") // a user the directory does not name
	botUser = mmid("bot")
	team1   = mmid("team")
	t0      = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	// usernames are the users the archive's directory names.
	usernames = map[string]string{alice: "alice", bob: "bob", botUser: "incident-bot"}
)

// content is what an archive holds: incidents with their timelines, and
// documents.
type content struct {
	incidents []*incident.Incident
	timelines [][]incident.Event
	docs      map[string]string
}

// sample returns two incidents: #inc1, resolved, with roles, notes naming
// users, a bot event and an action item; #inc2, open. events pads #inc1's
// timeline with notes up to that many events.
func sample(t testing.TB, events int) content {
	t.Helper()
	var c content
	inc := &incident.Incident{ID: "inc1", Title: "Checkout | down *again*", Severity: incident.S2, TeamID: team1, ChannelID: mmid("chan1"),
		Roles: map[incident.Role]string{}}
	tl := []incident.Event{inc.Start(t0, alice)}
	add := func(ev incident.Event, err error) {
		if err != nil {
			t.Fatal(err)
		}
		tl = append(tl, ev)
	}
	add(inc.AssignRole(t0.Add(time.Minute), botUser, incident.RoleIM, alice, "rota", nil))
	add(incident.NewEvent(t0.Add(2*time.Minute), bob, incident.EventNote, "paged <@"+alice+"> and <@"+gone+">"), nil)
	add(incident.NewEvent(t0.Add(3*time.Minute), incident.ActorSystem, incident.EventStatusUpdate, "looking into it"), nil)
	for i := len(tl); i < events-2; i++ {
		typ := incident.EventNote
		if i%10 == 0 {
			typ = incident.EventStatusUpdate
		}
		add(incident.NewEvent(t0.Add(time.Duration(i)*time.Second+3*time.Minute), []string{alice, bob, gone}[i%3], typ,
			fmt.Sprintf("event %d: checked the gateway and the queue depth", i)), nil)
	}
	end := tl[len(tl)-1].At
	add(inc.Mitigate(end.Add(10*time.Minute), bob))
	add(inc.Resolve(end.Add(20*time.Minute), alice, "rolled back"))
	c.incidents = append(c.incidents, inc)
	c.timelines = append(c.timelines, tl)

	inc2 := &incident.Incident{ID: "inc2", Title: "Search slow", Severity: incident.S3, TeamID: team1, ChannelID: mmid("chan2")}
	c.incidents = append(c.incidents, inc2)
	c.timelines = append(c.timelines, []incident.Event{inc2.Start(t0.Add(24*time.Hour), bob)})
	for _, tl := range c.timelines {
		for j := range tl {
			tl[j].Seq = j
		}
	}
	c.docs = map[string]string{"actions/v1/inc1": `{"items":[{"n":1,"text":"add | alerts","owner":"` + bob + `","due":"2026-03-12T00:00:00Z"}]}`}
	return c
}

// write makes an archive of c.
func write(t testing.TB, c content) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.incidents")
	w, err := archivefile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, inc := range c.incidents {
		if err := w.AddIncident(ctx, inc, c.timelines[i]); err != nil {
			t.Fatal(err)
		}
	}
	for name, raw := range c.docs {
		if err := w.AddDoc(ctx, name, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	dir := archive.NewDirectory()
	for id, n := range usernames {
		dir.Users[id] = archive.User{Username: n, Bot: id == botUser}
	}
	dir.Teams[team1] = archive.Team{Name: "ops"}
	settings := app.Settings{Location: mustZone(t, "Europe/Berlin"), UpdateCadence: map[incident.Severity]time.Duration{incident.S2: 30 * time.Minute}}
	if _, err := w.Finish(archive.Meta{ExportedAt: t0.Add(48 * time.Hour), ExportedBy: "admin", SiteURL: "https://chat.example.com"}, dir,
		settings.Snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustZone(t testing.TB, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	return loc
}

func fixClock(t testing.TB) {
	old := now
	now = func() time.Time { return t0.Add(72 * time.Hour) }
	t.Cleanup(func() { now = old })
}

// cli runs the tool; it returns stdout, stderr and the exit status.
func cli(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestSubcommands(t *testing.T) {
	fixClock(t)
	path := write(t, sample(t, 8))
	q := mention.ZeroWidthSpace

	out, _, code := cli("info", path)
	for _, want := range []string{"| Exported | 2026-03-12 12:00 UTC |", "| Exported by | @admin |", "| From | https://chat.example.com |",
		"| Incidents | 2 |", "| Events | 9 |", "| Documents | 1 |", "| Time zone | Europe/Berlin |", "| Holds | every incident |"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("info (exit %d) lacks %q:\n%s", code, want, out)
		}
	}

	out, _, code = cli("list", path)
	want := "#### Incidents (2)\n| Id | Severity | Status | Title | Started |\n|---|---|---|---|---|\n" +
		"| `inc2` | S3 | Open | Search slow | 2026-03-11 12:00 UTC |\n" +
		"| `inc1` | S2 | Resolved | Checkout \\| down \\*again\\* | 2026-03-10 12:00 UTC |\n"
	if code != 0 || out != want {
		t.Errorf("list (exit %d) =\n%s\nwant\n%s", code, out, want)
	}
	out, _, code = cli("list", "--status", "resolved", path)
	if code != 0 || !strings.HasPrefix(out, "#### Resolved incidents (1)\n") || strings.Contains(out, "inc2") {
		t.Errorf("list --status resolved (exit %d) =\n%s", code, out)
	}

	out, _, code = cli("timeline", path, "#inc1")
	for _, want := range []string{
		"#### Timeline of incident #inc1: Checkout | down \\*again\\*\n| Time (UTC) | Who | Event |\n|---|---|---|\n| 2026-03-10 12:00:00 | @alice | started as S2: Checkout \\| down \\*again\\* |\n",
		"| 2026-03-10 12:01:00 | the bot | Incident manager: @alice (rota) |\n",
		"| 2026-03-10 12:02:00 | @bob | note: paged @alice and a former user |\n",
		"| 2026-03-10 12:03:00 | the bot | status update: looking into it |\n",
		"| a former user | note: event 5",
		"| @alice | resolved: rolled back |\n",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("timeline (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "Showing the last") || strings.Count(out, "\n| 2026-") != 8 {
		t.Errorf("timeline is not whole:\n%s", out)
	}

	out, _, code = cli("postmortem", path, "inc1")
	if code != 0 || !strings.Contains(out, "@"+q+"alice") || !strings.Contains(out, "| 1 | add \\| alerts | @"+q+"bob |") || !strings.Contains(out, "- a former user: 1 timeline entry") {
		t.Errorf("postmortem (exit %d):\n%s", code, out)
	}

	out, _, code = cli("stats", path)
	for _, want := range []string{"#### Incidents since 2026-03-10: 2\n", "| S2 | 1 | ", "| S3 | 1 | ", "**Open action items past due (1):**\n- #inc1 item 1: add \\| alerts (@bob, due 2026-03-12)\n"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("stats (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	out, _, code = cli("stats", path, "--since", "2026-03-11")
	if code != 0 || !strings.HasPrefix(out, "#### Incidents since 2026-03-11: 1\n") {
		t.Errorf("stats --since (exit %d):\n%s", code, out)
	}
	out, _, code = cli("stats", "--since", "1d", path)
	if code != 0 || !strings.HasPrefix(out, "#### Incidents since 2026-03-12: 0\n") {
		t.Errorf("stats --since 1d (exit %d):\n%s", code, out)
	}
}

func TestErrors(t *testing.T) {
	path := write(t, sample(t, 5))
	for _, args := range [][]string{nil, {"nope"}, {"info"}, {"info", path, "extra"}, {"timeline", path}, {"list", path, "--status", "closed"},
		{"stats", path, "--since", "soon"}, {"list", path, "--colour"}} {
		out, errOut, code := cli(args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "usage: incident-archive") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"info", filepath.Join(t.TempDir(), "missing")}, "missing"},
		{[]string{"list", "main.go"}, "not an incident archive"},
		{[]string{"postmortem", path, "nosuch"}, "nosuch"},
	} {
		out, errOut, code := cli(c.args...)
		if code != 1 || out != "" || !strings.Contains(errOut, c.say) || strings.Contains(errOut, "usage:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", c.args, code, out, errOut)
		}
	}
}

// quietNames is the plugin's postmortem naming (bot.QuietName) over a
// fixed set of users: the reference the tool must match.
type quietNames struct{ offline }

func (quietNames) QuietName(id string) string {
	if id == incident.ActorSystem || id == botUser {
		return incident.BotName
	}
	if n, ok := usernames[id]; ok {
		return mention.Quiet(n)
	}
	return "a former user"
}

// TestPostmortemMatchesThePlugin: the tool prints what app.Postmortem
// renders for the same incident from a plugin's bbolt store that knows
// the same users.
func TestPostmortemMatchesThePlugin(t *testing.T) {
	fixClock(t)
	ctx := t.Context()
	c := sample(t, 40)
	path := write(t, c)
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "plugin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, inc := range c.incidents {
		if err := st.CreateIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		for _, ev := range c.timelines[i] {
			if _, err := st.AppendEvent(ctx, inc.ID, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, raw := range c.docs {
		if ok, err := st.CompareAndSetDoc(ctx, name, nil, []byte(raw)); err != nil || !ok {
			t.Fatal(name, err)
		}
	}
	settings := app.Settings{Location: mustZone(t, "Europe/Berlin"), UpdateCadence: map[incident.Severity]time.Duration{incident.S2: 30 * time.Minute}}
	fake := quietNames{}
	plugin, err := app.New(app.Deps{Store: st, Chat: fake, Notifier: fake, Access: fake, Directory: fake, Schedules: noSchedules,
		Settings: func() app.Settings { return settings }, Clock: now, IDs: noIDs, Postmortems: fake, Inline: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range c.incidents {
		stored, err := st.GetIncident(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, err := plugin.Postmortem(ctx, stored)
		if err != nil {
			t.Fatal(err)
		}
		got, errOut, code := cli("postmortem", path, inc.ID)
		if code != 0 || got != want {
			t.Errorf("postmortem of %s (exit %d, %s) =\n%s\nthe plugin renders\n%s", inc.ID, code, errOut, got, want)
		}
		if !strings.Contains(got, "Europe/Berlin") {
			t.Errorf("the postmortem of %s does not show the archive's display time zone:\n%s", inc.ID, got)
		}
	}
}

// BenchmarkOfflinePostmortem10kEvents renders the postmortem of one
// incident with 10,000 events the way the tool does: the archive opened
// once, the postmortem rendered in the loop.
func BenchmarkOfflinePostmortem10kEvents(b *testing.B) {
	fixClock(b)
	benchPostmortem(b, write(b, sample(b, 10000)), "inc1")
}

// benchPostmortem renders incident id of the archive at path in the loop,
// the archive opened once, as the tool does.
func benchPostmortem(b *testing.B, path, id string) {
	s, err := open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if md, err := postmortemOf(ctx, s, id); err != nil || len(md) == 0 {
			b.Fatal(err)
		}
	}
}

// BenchmarkOfflinePostmortem10000 renders, from an archive, the same
// incident as the plugin's BenchmarkPostmortem10000 (server/app): 10,000
// events, a status update every tenth, seven actors. Compare the two
// with: go test -run '^$' -bench 'Postmortem10000' ./server/app ./server/cmd/incident-archive
func BenchmarkOfflinePostmortem10000(b *testing.B) {
	fixClock(b)
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	inc := &incident.Incident{ID: "bench1", Title: "Ten thousand events", Severity: incident.S2, TeamID: "t", ChannelID: "c"}
	tl := []incident.Event{inc.Start(t0, "u0")}
	for i := 1; i < 10000; i++ {
		typ := incident.EventNote
		if i%10 == 0 {
			typ = incident.EventStatusUpdate
		}
		tl = append(tl, incident.NewEvent(t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("u%d", i%7), typ, fmt.Sprintf("event %d: checked the gateway and the queue depth", i)))
	}
	for i := range tl {
		tl[i].Seq = i
	}
	benchPostmortem(b, write(b, content{incidents: []*incident.Incident{inc}, timelines: [][]incident.Event{tl}}), "bench1")
}

// The test binary checks archives in a child of itself, as the tool does.
func TestMain(m *testing.M) {
	archivefile.ChildMain()
	os.Exit(m.Run())
}
