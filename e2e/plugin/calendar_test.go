package plugin_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// feedURL matches a calendar feed URL in a command reply.
var feedURL = regexp.MustCompile(`https?://\S+/calendar/(team/)?[0-9a-f]{64}\.ics`)

// calendarURL runs a calendar command as u and returns the URL it shows.
func calendarURL(t *testing.T, u *harness.User, channelID, command string) string {
	t.Helper()
	text := cmd(t, u, channelID, command).Text
	m := feedURL.FindString(text)
	if m == "" {
		t.Fatalf("%s: no feed URL in %q", command, text)
	}
	mustContain(t, command, text, "secret")
	return m
}

// fetchFeed gets url over plain HTTP, without a session, as a calendar app
// does; it returns the status and, on 200, the parsed calendar.
func fetchFeed(ctx context.Context, url string) (int, *ics.Calendar, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, err
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		return resp.StatusCode, nil, fmt.Errorf("Content-Type %q", ct)
	}
	if !bytes.HasPrefix(body, []byte("BEGIN:VCALENDAR\r\n")) || bytes.Contains(bytes.ReplaceAll(body, []byte("\r\n"), nil), []byte("\n")) {
		return resp.StatusCode, nil, fmt.Errorf("not CRLF-delimited iCalendar: %.200q", body)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(body))
	return resp.StatusCode, cal, err
}

type feedEvent struct {
	uid, summary string
	start, end   time.Time
}

func feedEvents(t *testing.T, cal *ics.Calendar) []feedEvent {
	t.Helper()
	var out []feedEvent
	for _, ev := range cal.Events() {
		s, err := ev.GetStartAt()
		if err != nil {
			t.Fatal(err)
		}
		e, err := ev.GetEndAt()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, feedEvent{uid: ev.Id(), summary: ics.FromText(ev.GetProperty(ics.ComponentPropertySummary).Value), start: s, end: e})
	}
	slices.SortFunc(out, func(a, b feedEvent) int { return a.start.Compare(b.start) })
	return out
}

// mustFeed fetches url, which must serve a feed, polling until it does.
func mustFeed(t *testing.T, ctx context.Context, url string) []feedEvent {
	t.Helper()
	var cal *ics.Calendar
	harness.Eventually(t, wait, "calendar feed "+url, func() (bool, error) {
		code, c, err := fetchFeed(ctx, url)
		if err != nil {
			return false, err
		}
		cal = c
		return code == http.StatusOK, nil
	})
	return feedEvents(t, cal)
}

// dutyCell returns the rota column of role's row in the first table of a
// `/incident rota` reply (this week).
func dutyCell(show, title string) string {
	for _, l := range strings.Split(show, "\n") {
		if cells := strings.Split(l, "|"); len(cells) > 3 && strings.TrimSpace(cells[1]) == title {
			return strings.TrimSpace(cells[2])
		}
	}
	return ""
}

// TestCalendarFeedMatchesTheRota puts two fresh people on the third-line
// rota with a Berlin handoff, and checks that each one's secret feed, fetched
// without a session and parsed by golang-ical, holds their duty weeks as
// `/incident rota` says, starting at 09:00 Berlin time whatever the season,
// with UIDs that stay the same from fetch to fetch; that an away period is
// in the feed; that only admins get the team feed; and that reset retires
// the old URL.
func TestCalendarFeedMatchesTheRota(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := srv.Admin
	run := "cal" + uniq()
	x, y := newUser(t, ctx, run+"-x"), newUser(t, ctx, run+"-y")
	ch, err := srv.NewChannel(ctx, run+"-rota", false, x, y)
	if err != nil {
		t.Fatal(err)
	}
	handoffBackAtEnd(t, ch)
	mustContain(t, "handoff", cmd(t, admin, ch.Id, `/incident rota handoff "CRON_TZ=Europe/Berlin 0 9 * * MON"`).Text, "Handoff set")
	onRota(t, ch, "l3", x, y)
	// An away period of x's well ahead, so that it staffs nothing now.
	awayFrom := time.Now().UTC().AddDate(0, 0, 70).Truncate(time.Hour)
	awayTo := awayFrom.Add(48 * time.Hour)
	mustContain(t, "away", cmd(t, admin, ch.Id, "/incident rota away @"+x.Username+" "+awayFrom.Format(time.RFC3339)+" "+awayTo.Format(time.RFC3339)).Text, "is away")

	show := cmd(t, x, ch.Id, "/incident rota").Text
	onDuty := dutyCell(show, "Third line")
	if onDuty != "@"+x.Username && onDuty != "@"+y.Username {
		t.Fatalf("third line this week is %q, want one of ours:\n%s", onDuty, show)
	}

	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	urls := map[*harness.User]string{x: calendarURL(t, x, ch.Id, "/incident rota calendar"), y: calendarURL(t, y, ch.Id, "/incident rota calendar")}
	if urls[x] == urls[y] {
		t.Fatal("two people share a feed URL")
	}
	if again := calendarURL(t, x, ch.Id, "/incident rota calendar"); again != urls[x] {
		t.Errorf("the URL changed without reset: %s, %s", urls[x], again)
	}
	now := time.Now()
	var weeks []feedEvent // both feeds' duty events
	for _, u := range []*harness.User{x, y} {
		evs := mustFeed(t, ctx, urls[u])
		var duty, away int
		for _, ev := range evs {
			switch {
			case ev.summary == "Away":
				away++
				if u != x || !ev.start.Equal(awayFrom) || !ev.end.Equal(awayTo) {
					t.Errorf("%s: away event %+v", u.Username, ev)
				}
			case ev.summary == "On duty: Third line":
				duty++
				weeks = append(weeks, ev)
				s, e := ev.start.In(berlin), ev.end.In(berlin)
				split := ev.end.Equal(awayFrom) || ev.start.Equal(awayTo) // x's week around the away period
				if !split && (s.Weekday() != time.Monday || s.Hour() != 9 || s.Minute() != 0 || e.Weekday() != time.Monday || e.Hour() != 9 || e.Sub(s) < 167*time.Hour || e.Sub(s) > 169*time.Hour) {
					t.Errorf("%s: duty %v-%v is not a Berlin Monday-09:00 week", u.Username, s, e)
				}
				if !ev.start.After(now) && ev.end.After(now) && onDuty != "@"+u.Username {
					t.Errorf("%s's feed has them on duty now; /incident rota says %s", u.Username, onDuty)
				}
			case strings.HasPrefix(ev.summary, "On duty: Third line (covering "):
				duty++ // y covers x's away days, if they fall in x's week
				weeks = append(weeks, ev)
			}
		}
		t.Logf("%s: %d events, %d of them duty", u.Username, len(evs), duty)
		if duty < 15 {
			t.Errorf("%s: %d duty events in 38 weeks, want every other week: %+v", u.Username, duty, evs)
		}
		if u == x && away != 1 {
			t.Errorf("x's feed has %d away events, want 1", away)
		}
	}
	// Together the two feeds cover the window week after week, without
	// gaps or overlaps, and the week in progress is onDuty's.
	slices.SortFunc(weeks, func(a, b feedEvent) int { return a.start.Compare(b.start) })
	covered := false
	for i, ev := range weeks {
		if i > 0 && !ev.start.Equal(weeks[i-1].end) {
			t.Errorf("gap or overlap between %v and %v", weeks[i-1], ev)
		}
		covered = covered || !ev.start.After(now) && ev.end.After(now)
	}
	if !covered {
		t.Errorf("no duty event covers now")
	}

	// Stable UIDs: a second fetch gives the same events.
	first, second := mustFeed(t, ctx, urls[x]), mustFeed(t, ctx, urls[x])
	uids := func(evs []feedEvent) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, ev.uid)
		}
		slices.Sort(out)
		return out
	}
	if a, b := uids(first), uids(second); !slices.Equal(a, b) || len(slices.Compact(slices.Clone(a))) != len(a) {
		t.Errorf("UIDs differ between fetches or repeat:\n%v\n%v", a, b)
	}

	// The team feed is for admins; it shows every role's holder.
	mustContain(t, "team feed for a non-admin", cmd(t, x, ch.Id, "/incident rota calendar team").Text, "only system admins and rota admins")
	team := calendarURL(t, admin, ch.Id, "/incident rota calendar team")
	found := false
	for _, ev := range mustFeed(t, ctx, team) {
		found = found || ev.summary == "Third line: "+onDuty && !ev.start.After(now) && ev.end.After(now)
	}
	if !found {
		t.Errorf("the team feed lacks this week's third line, %s", onDuty)
	}
	if code, _, err := fetchFeed(ctx, strings.Replace(urls[x], "/calendar/", "/calendar/team/", 1)); err != nil || code != http.StatusNotFound {
		t.Errorf("a personal token as a team feed: %d %v", code, err)
	}

	// Reset: a new URL, and the old one is gone.
	fresh := calendarURL(t, x, ch.Id, "/incident rota calendar reset")
	if fresh == urls[x] {
		t.Fatal("reset kept the URL")
	}
	harness.Eventually(t, wait, "old feed URL refused", func() (bool, error) {
		code, _, err := fetchFeed(ctx, urls[x])
		return code == http.StatusNotFound, err
	})
	if evs := mustFeed(t, ctx, fresh); len(evs) != len(first) {
		t.Errorf("the new URL serves %d events, the old one served %d", len(evs), len(first))
	}

	// A deactivated user's feed is gone at once (read checks the owner
	// again, not only when the URL was given).
	if _, err := srv.Admin.Client.DeleteUser(ctx, y.Id); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = srv.Admin.Client.UpdateUserActive(context.Background(), y.Id, true) })
	if code, _, err := fetchFeed(ctx, urls[y]); err != nil || code != http.StatusNotFound {
		t.Errorf("a deactivated user's feed: %d %v", code, err)
	}
}
