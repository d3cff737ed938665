package plugin_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// TestResolveGeneratesThePostmortem runs a full incident with several users
// and checks the generated postmortem: posted in the incident channel and
// the postmortems channel, split under the post limit, attached as a file,
// with figures that match the timeline's timestamps.
func TestResolveGeneratesThePostmortem(t *testing.T) {
	ctx := ctxT(t)
	u := srv.Users
	pmCh, err := srv.NewChannel(ctx, "postmortems-"+uniq(), false, u...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id,
		"PostmortemChannelID": pmCh.Id, "DisplayTimeZone": "Europe/Berlin", "EscalationTimeouts": "S1=off, S2=off, S3=off, S4=off"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(ctxT(t), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id}); err != nil {
			t.Error(err)
		}
	})
	s := start(t, u[7], "Payments @channel outage --severity S2 --summary Card payments fail")
	in := func(who *harness.User, c string) string { return cmd(t, who, s.Channel.Id, c).Text }
	for _, who := range []*harness.User{u[0], u[1]} {
		if _, _, err := who.Client.AddChannelMember(ctx, s.Channel.Id, who.Id); err != nil {
			t.Fatal(err)
		}
	}
	mustContain(t, "impact", in(u[7], "/incident impact 18% of EU card payments failed"), "Impact of")
	mustContain(t, "lesson", in(u[0], "/incident note --lesson Alert threshold was too high"), "Lesson added")
	mustContain(t, "action", in(u[0], "/incident action add Lower the alert threshold @"+u[1].Username+" --due 2030-01-15"), "Action item 1 added")
	mustContain(t, "action 2", in(u[1], "/incident action add Write the runbook"), "Action item 2 added")
	mustContain(t, "action done", in(u[1], "/incident action done 2"), "done")
	mustContain(t, "action list", in(u[1], "/incident action list"), "Lower the alert threshold", "@"+u[1].Username, "2030-01-15", "done")
	// Enough status updates to need more than one post.
	long := strings.Repeat("Rolled back the card gateway config and watching error rates; ", 12)
	for i := 1; i <= 30; i++ {
		mustContain(t, "update", in(u[i%2], fmt.Sprintf("/incident update %d. %s", i, long)), "posted")
	}
	mustContain(t, "mitigate", in(u[7], "/incident mitigate"), "mitigated")
	mustContain(t, "resolve", in(u[7], "/incident resolve Reverted the gateway config"), "resolved")

	parts := func(channelID string) []*model.Post {
		var out []*model.Post
		harness.Eventually(t, wait, "postmortem posts in "+channelID, func() (bool, error) {
			posts, err := srv.Posts(ctx, u[7], channelID)
			out = nil
			for _, p := range posts {
				if p.GetProp("incident_id") == s.ID && p.GetProp("postmortem_part") != nil {
					out = append(out, p)
				}
			}
			return len(out) > 0 && len(out[len(out)-1].FileIds) == 1, err
		})
		return out
	}
	local, leads := parts(s.Channel.Id), parts(pmCh.Id)
	if len(local) < 2 || len(local) != len(leads) {
		t.Fatalf("postmortem parts: %d in the incident channel, %d for leads; want the same, at least 2", len(local), len(leads))
	}
	var joined strings.Builder
	for i, p := range local {
		if n := utf8.RuneCountInString(p.Message); n > 16383 {
			t.Errorf("part %d has %d runes", i+1, n)
		}
		if strings.Count(p.Message, "\n| ") > 0 && strings.HasPrefix(strings.TrimSpace(p.Message), "|---") {
			t.Errorf("part %d starts mid-table without its header", i+1)
		}
		if p.GetProp("postmortem_part") != fmt.Sprintf("%d/%d", i+1, len(local)) {
			t.Errorf("part %d labelled %v", i+1, p.GetProp("postmortem_part"))
		}
		joined.WriteString(p.Message + "\n")
	}
	file, _, err := u[7].Client.GetFile(ctx, local[len(local)-1].FileIds[0])
	if err != nil {
		t.Fatalf("download the attached postmortem: %v", err)
	}
	md := string(file)
	if _, _, err := u[3].Client.GetFile(ctx, leads[len(leads)-1].FileIds[0]); err != nil {
		t.Errorf("a lead in the postmortems channel cannot download the file: %v", err)
	}
	for _, want := range []string{"# Postmortem #" + s.ID, "Highest severity reached:** S2", "CET", "18% of EU card payments failed",
		"Alert threshold was too high", "Lower the alert threshold", "2030-01-15", "Write the runbook", "Reverted the gateway config",
		"## Participants", "## Status updates", "## Timeline", "30. Rolled back"} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem file lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(md), "@channel") {
		t.Errorf("postmortem holds a live @channel")
	}
	if !strings.Contains(joined.String(), "## Timeline") {
		t.Errorf("the posts do not carry the whole postmortem")
	}

	// The computed figures match the timeline's own timestamps.
	started := stampOf(t, md, `\*\*Started:\*\* (\S+ \S+) UTC`)
	mitigated := stampOf(t, md, `\*\*Mitigated:\*\* (\S+ \S+) UTC`)
	resolved := stampOf(t, md, `\*\*Resolved:\*\* (\S+ \S+) UTC`)
	for what, pair := range map[string][2]string{
		"Time to mitigate": {`\*\*Time to mitigate:\*\* ([0-9hms ]+)`, ""},
		"Time to resolve":  {`\*\*Time to resolve:\*\* ([0-9hms ]+)`, ""},
	} {
		got := durOf(t, md, pair[0])
		want := resolved.Sub(started)
		if what == "Time to mitigate" {
			want = mitigated.Sub(started)
		}
		// Exactly: durations are the differences of the shown stamps.
		if got != want {
			t.Errorf("%s = %s, timeline says %s", what, got, want)
		}
	}
	if !strings.Contains(md, "| "+started.Format("2006-01-02 15:04:05")+" | @") {
		t.Errorf("the timeline table has no row at the start time %s", started)
	}
	mustContain(t, "update count", md, "**Status updates:** 30")

	stats := cmd(t, u[7], srv.TownSquare.Id, "/incident stats --since 1d").Text
	mustContain(t, "stats", stats, "Incidents since", "| S2 |", "To resolve (mean / p90)")
	mustContain(t, "stats refuses junk", cmd(t, u[7], srv.TownSquare.Id, "/incident stats --since yesterdayish").Text, "use 30d, 90d or a date")
}

func stampOf(t *testing.T, md, re string) time.Time {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(md)
	if m == nil {
		t.Fatalf("postmortem lacks %s", re)
	}
	at, err := time.Parse("2006-01-02 15:04:05", m[1])
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// durOf reads a duration written like "1h 2m 3s".
func durOf(t *testing.T, md, re string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(md)
	if m == nil {
		t.Fatalf("postmortem lacks %s", re)
	}
	var d time.Duration
	for _, f := range strings.Fields(m[1]) {
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute, 's': time.Second}[f[len(f)-1]]
		n, err := strconv.Atoi(f[:len(f)-1])
		if err != nil || unit == 0 {
			t.Fatalf("duration %q", m[1])
		}
		d += time.Duration(n) * unit
	}
	return d
}
