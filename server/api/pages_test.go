package api

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/command"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/postmortem"
	"github.com/incidentbot/mattermost-incident-bot/server/web"
)

// pagesHandler is the plugin's router with the pages, over e's app.
func pagesHandler(e *routeEnv) http.Handler {
	return (&API{App: e.app, Dialogs: e.mm, Platform: e.mm, BotID: botID, Render: func(s string) string { return s },
		Pages: &web.Pages{App: e.app, Log: zerolog.Nop(), TeamID: func(name string) (string, bool) {
			if name == "ops" {
				return "team", true
			}
			return "", false
		}}, Log: zerolog.Nop()}).Handler()
}

// get asks h for target as user ("" for no session).
func get(t testing.TB, h http.Handler, user, target string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if user != "" {
		req.Header.Set("Mattermost-User-Id", user)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body), rec.Header()
}

func TestPagesNeedASession(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t)
	h := pagesHandler(e)
	for _, target := range []string{"/incidents", "/incidents/" + inc.ID, "/incidents/" + inc.ID + "/postmortem.md", "/stats", "/rota"} {
		code, body, _ := get(t, h, "", target)
		// The sign-in gate sends a browser to sign in; the pages refuse.
		if code != http.StatusUnauthorized && code != http.StatusFound {
			t.Errorf("%s without a session: %d, want 401 or a redirect to sign in", target, code)
		}
		if strings.Contains(body, inc.ID) {
			t.Errorf("%s without a session shows the incident", target)
		}
		// The pages themselves refuse without the gate.
		rec := httptest.NewRecorder()
		(&API{App: e.app}).authed((&web.Pages{App: e.app}).ServeList)(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s handler without a session: %d, want 401", target, rec.Code)
		}
	}
	for _, target := range []string{"/incidents", "/stats", "/rota", "/incidents/" + inc.ID} {
		req := httptest.NewRequest(http.MethodPost, target, nil)
		req.Header.Set("Mattermost-User-Id", "ann")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusMethodNotAllowed && rec.Code != http.StatusNotFound {
			t.Errorf("POST %s: %d, want the pages to be read-only", target, rec.Code)
		}
	}
}

func TestPagesHidePrivateIncidents(t *testing.T) {
	e := newRouteEnv(t)
	pub := e.start(t)
	priv := e.start(t, "ann", "ian", "lea", "rob")
	h := pagesHandler(e)

	code, body, hdr := get(t, h, "bob", "/incidents")
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("list headers: %v", hdr)
	}
	if !strings.Contains(body, `data-incident="`+pub.ID+`"`) || strings.Contains(body, priv.ID) {
		t.Errorf("bob's list: want %s only, got\n%s", pub.ID, body)
	}
	// Private incidents are not counted for outsiders, in any window:
	// a count per window would say when they started.
	if !strings.Contains(body, `id="private-note"`) || strings.Contains(body, "hidden") || strings.Contains(body, "cannot see") {
		t.Errorf("bob's list counts what he cannot see:\n%s", body)
	}
	_, body, _ = get(t, h, "ann", "/incidents")
	if !strings.Contains(body, `data-incident="`+priv.ID+`"`) {
		t.Errorf("ann's list: want %s", priv.ID)
	}

	for _, target := range []string{"/incidents/" + priv.ID, "/incidents/" + priv.ID + "/postmortem.md", "/incidents/nosuch"} {
		if code, body, _ := get(t, h, "bob", target); code != http.StatusNotFound || strings.Contains(body, "Checkout") {
			t.Errorf("bob %s: %d %q, want 404 without details", target, code, body)
		}
	}
	code, body, _ = get(t, h, "ann", "/incidents/"+priv.ID)
	if code != http.StatusOK {
		t.Fatalf("ann's incident page: %d %s", code, body)
	}
	for _, want := range []string{`svg id="timeline"`, `svg id="roles"`, `table id="events"`, `data-metric="tta"`, `id="postmortem"`, `href="` + priv.ID + `/postmortem.md"`, `<h1>`} {
		if !strings.Contains(body, want) {
			t.Errorf("incident page lacks %s", want)
		}
	}
	code, md, hdr := get(t, h, "ann", "/incidents/"+priv.ID+"/postmortem.md")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/markdown") || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") || !strings.HasPrefix(md, "#") {
		t.Errorf("postmortem.md: %d %v %.80q", code, hdr, md)
	}

	_, body, _ = get(t, h, "bob", "/stats?since=all")
	if !strings.Contains(body, `data-incidents="1"`) || strings.Contains(body, "hidden") || !strings.Contains(body, `id="private-note"`) || strings.Contains(body, priv.ID) {
		t.Errorf("bob's stats: want 1 incident counted and the private ones not counted, nor their number\n%s", body)
	}
	_, body, _ = get(t, h, "ann", "/stats?since=all")
	if !strings.Contains(body, `data-incidents="2"`) {
		t.Errorf("ann's stats: want 2 incidents")
	}
	for _, id := range []string{"stats-tta", "stats-ttm", "stats-ttr", "stats-weekly"} {
		if !strings.Contains(body, `svg id="`+id+`"`) {
			t.Errorf("stats lack svg#%s", id)
		}
	}
	code, body, _ = get(t, h, "bob", "/rota")
	if code != http.StatusOK || !strings.Contains(body, `table id="rota"`) || !strings.Contains(body, "data-current") || strings.Count(body, "<tr data-week=") != 25 {
		t.Errorf("rota: %d, want 25 weeks with the current one marked\n%s", code, body)
	}
}

func TestPagesEscapeUserText(t *testing.T) {
	e := newRouteEnv(t)
	inc, err := e.app.Start(context.Background(), app.StartRequest{TeamID: "team", ActorID: "ann", Title: `<script>alert("x")</script> & <b>`, Severity: incident.S2})
	if err != nil {
		t.Fatal(err)
	}
	h := pagesHandler(e)
	for _, target := range []string{"/incidents", "/incidents/" + inc.ID} {
		_, body, _ := get(t, h, "ann", target)
		if strings.Contains(body, "<script") || strings.Contains(body, "<b>") {
			t.Errorf("%s does not escape the title", target)
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s lacks the escaped title", target)
		}
	}
}

func TestPagesFiltersAndPaging(t *testing.T) {
	e := newRouteEnv(t)
	ctx := context.Background()
	var ids []string
	for i := range 60 {
		sev := incident.S3
		if i%10 == 0 {
			sev = incident.S1
		}
		e.setNow(time.Date(2026, 11, 4, 10, i, 0, 0, time.UTC))
		inc, err := e.app.Start(ctx, app.StartRequest{TeamID: "team", ActorID: "ann", Title: fmt.Sprintf("Incident number %d", i), Severity: sev})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inc.ID)
		if i%4 == 0 {
			if _, err := e.app.Mitigate(ctx, "ann", e.incident(t, inc.ID)); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := pagesHandler(e)
	rowRE := regexp.MustCompile(`<tr data-incident="([^"]+)"`)
	nextRE := regexp.MustCompile(`<a href="([^"]+)" id="next"`)
	var next string // the last page's "older" link
	rows := func(target string) []string {
		t.Helper()
		code, body, _ := get(t, h, "ann", target)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", target, code, body)
		}
		var out []string
		for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		next = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			next = "/" + html.UnescapeString(m[1])
		}
		return out
	}
	p1 := rows("/incidents")
	if next == "" {
		t.Fatal("the first page has no link to older incidents")
	}
	p2 := rows(next)
	if len(p1) != web.PageSize || len(p2) != 10 || p1[0] != ids[59] || p2[9] != ids[0] || next != "" {
		t.Errorf("pages: %d and %d rows, first %v last %v, then %q; want 50 and 10, newest first, and no more", len(p1), len(p2), p1[:1], p2[len(p2)-1:], next)
	}
	if got := rows("/incidents?severity=S1"); len(got) != 6 {
		t.Errorf("severity=S1: %d rows, want 6", len(got))
	}
	if got := rows("/incidents?status=mitigated"); len(got) != 15 {
		t.Errorf("status=mitigated: %d rows, want 15", len(got))
	}
	if got := rows("/incidents?status=mitigated&severity=S1"); len(got) != 3 {
		t.Errorf("mitigated S1: %d rows, want 3", len(got))
	}
	if got := rows("/incidents?q=number+42"); len(got) != 1 || got[0] != ids[42] {
		t.Errorf("q: %v, want %s", got, ids[42])
	}
	if got := rows("/incidents?team=other"); len(got) != 0 {
		t.Errorf("team=other: %d rows", len(got))
	}
	// The team filter takes a team's name.
	if got := rows("/incidents?team=ops"); len(got) != web.PageSize || next == "" {
		t.Errorf("team=ops: %d rows on page 1 and older link %q", len(got), next)
	} else if got := rows(next); len(got) != 10 {
		t.Errorf("team=ops: %d rows on page 2, want 10", len(got))
	}
	if got := rows("/incidents?since=2026-11-05"); len(got) != 0 {
		t.Errorf("since tomorrow: %d rows", len(got))
	}
	for _, bad := range []string{"?status=x", "?severity=S9", "?after=2026-13.x", "?since=yesterday"} {
		if code, _, _ := get(t, h, "ann", "/incidents"+bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
}

// The page shows the postmortem's own figures.
func TestIncidentPageFiguresMatchPostmortem(t *testing.T) {
	e := newRouteEnv(t)
	ctx := context.Background()
	inc := e.start(t)
	e.setNow(inc.CreatedAt.Add(17*time.Minute + 5*time.Second))
	if _, err := e.app.Mitigate(ctx, "ann", inc); err != nil {
		t.Fatal(err)
	}
	e.setNow(inc.CreatedAt.Add(2*time.Hour + 3*time.Minute))
	inc = e.incident(t, inc.ID)
	if _, err := e.app.Resolve(ctx, "ann", inc, "fixed"); err != nil {
		t.Fatal(err)
	}
	inc = e.incident(t, inc.ID)
	evs, err := e.store.Timeline(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	m := postmortem.ComputeAt(inc, evs, 0, time.Time{})
	_, body, _ := get(t, pagesHandler(e), "ann", "/incidents/"+inc.ID)
	for key, want := range map[string]string{"ttm": incident.FormatDuration(m.TimeToMitigate), "ttr": incident.FormatDuration(m.TimeToResolve)} {
		if !strings.Contains(body, `data-metric="`+key+`">`+want+`<`) {
			t.Errorf("%s: page lacks %s", key, want)
		}
	}
	md, err := e.app.Postmortem(ctx, inc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "**Time to mitigate:** "+incident.FormatDuration(m.TimeToMitigate)) {
		t.Errorf("the postmortem says otherwise:\n%s", md)
	}
	_, list, _ := get(t, pagesHandler(e), "ann", "/incidents")
	if !strings.Contains(list, `data-metric="ttr">`+incident.FormatDuration(m.TimeToResolve)+`<`) {
		t.Errorf("list lacks the time to resolve %s", incident.FormatDuration(m.TimeToResolve))
	}
}

// BenchmarkPages renders the list of 1,000 incidents and the page of an
// incident with 10,000 events; each must take under 200 ms.
func BenchmarkPages(b *testing.B) {
	e := newRouteEnv(&testing.T{})
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		inc := &incident.Incident{ID: fmt.Sprintf("b%04d", i), Title: fmt.Sprintf("Incident %d", i), Severity: incident.Severity(1 + i%4),
			HighestSeverity: incident.Severity(1 + i%4), Status: incident.StatusOpen, TeamID: "team", ChannelID: fmt.Sprintf("bch%d", i),
			CreatedBy: "ann", CreatedAt: t0.Add(time.Duration(i) * time.Hour), UpdatedAt: t0.Add(time.Duration(i) * time.Hour),
			Roles: map[incident.Role]string{incident.RoleIM: "ian"}}
		if err := e.store.CreateIncident(ctx, inc); err != nil {
			b.Fatal(err)
		}
	}
	big := "b0999"
	at := t0.Add(999 * time.Hour)
	types := []incident.EventType{incident.EventNote, incident.EventStatusUpdate, incident.EventPaged, incident.EventPageAcknowledged, incident.EventNote}
	for i := range 10000 {
		ev := incident.NewEvent(at.Add(time.Duration(i)*time.Second), "ann", types[i%len(types)], fmt.Sprintf("event %d <@bob>", i))
		if types[i%len(types)] == incident.EventPaged {
			ev = ev.With(incident.DataTarget, "lea").With("page", fmt.Sprintf("p%d", i))
		}
		if _, err := e.store.AppendEvent(ctx, big, ev); err != nil {
			b.Fatal(err)
		}
	}
	e.setNow(at.Add(3 * time.Hour))
	h := pagesHandler(e)
	for _, c := range []struct{ name, target string }{{"list1000", "/incidents"}, {"incident10000", "/incidents/" + big}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if code, body, _ := get(b, h, "ann", c.target); code != http.StatusOK {
					b.Fatalf("%d %.200s", code, body)
				}
			}
		})
	}
}

// /incident list links each incident's page and the list; /incident
// stats links the stats page for the same period.
func TestCommandsLinkThePages(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t)
	h := &command.Handler{App: e.app, Render: func(s string) string { return s }, UserName: func(id string) string { return "@" + id },
		PageURL: func(site, path string) string { return site + "/plugins/p" + path }, Log: zerolog.Nop()}
	ctx := context.Background()
	list := h.Execute(ctx, command.Call{UserID: "ann", SiteURL: "https://chat", Verb: "list"}).Text
	for _, want := range []string{"[`" + inc.ID + "`](https://chat/plugins/p/incidents/" + inc.ID + ")", "(https://chat/plugins/p/incidents)"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %s:\n%s", want, list)
		}
	}
	stats := h.Execute(ctx, command.Call{UserID: "ann", SiteURL: "https://chat", Verb: "stats", Rest: "--since 2026-10-01"}).Text
	if !strings.Contains(stats, "(https://chat/plugins/p/stats?since=2026-10-01)") {
		t.Errorf("stats lack the page's link:\n%s", stats)
	}
}
