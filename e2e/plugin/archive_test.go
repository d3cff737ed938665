package plugin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
	"github.com/incidentbot/mattermost-incident-bot/server/web"
)

// TestArchiveMovesIncidentsToAnotherServer runs incidents on the test
// server (rota, a page, a handover, a hotfix, an action item), exports
// the archive, and imports it into a second real server with its own
// database, where the same usernames have other ids: the incident list,
// timelines and postmortems read the same there, a second import changes
// nothing, and a user missing there is reported.
func TestArchiveMovesIncidentsToAnotherServer(t *testing.T) {
	ctx := ctxT(t)
	p := "arc" + uniq()
	r := newPagingRota(t, ctx, p)
	qa := newUser(t, ctx, p+"-qa")
	ghost := newUser(t, ctx, p+"-ghost") // never created on the second server
	rm := newUser(t, ctx, p+"-rm")
	mustContain(t, "rota set rm", cmd(t, srv.Admin, r.channel.Id, "/incident rota set rm @"+rm.Username).Text, "rota set")
	t.Cleanup(func() {
		_, _ = srv.ExecuteCommand(context.Background(), srv.Admin, r.channel.Id, "/incident rota remove rm @"+rm.Username)
	})
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id, "HotfixSignoffGroups": "qa",
		"EscalationTimeouts": "S1=off, S2=1h, S3=off, S4=off", "RenotifyInterval": "off", "UpdateCadence": "S1=off, S2=off, S3=off, S4=off"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.PatchPluginConfig(context.Background(), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id})
	})
	mustContain(t, "set qa", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident signoff-group set qa @"+qa.Username).Text, "Sign-off group qa saved")

	// Incident 1: paged, handed over, hotfixed, an action item, resolved.
	one := start(t, r.starter, "Checkout 502s "+p+" --severity S2")
	waitCmd(t, r.starter, one.Channel.Id, "/incident timeline", "paged")
	im := r.holder["im"]
	mustContain(t, "handover", cmd(t, im, one.Channel.Id, "/incident handover l3 @"+r.starter.Username).Text, "")
	accept := waitPost(t, r.starter, one.Channel.Id, "asks you to take over")
	if _, err := srv.ClickButton(ctx, r.starter, accept.Id, "acceptl3"); err != nil {
		t.Fatal(err)
	}
	waitCmd(t, im, one.Channel.Id, "/incident timeline", "accepted")
	mustContain(t, "hotfix", cmd(t, im, one.Channel.Id, "/incident hotfix --author @"+r.holder["l1"].Username+" Roll back the payment client").Text, "Hotfix 1 requested")
	mustContain(t, "action", cmd(t, im, one.Channel.Id, "/incident action add Alert on 502 rate @"+r.holder["l2"].Username+" --due 2030-01-31").Text, "Action item 1 added")
	mustContain(t, "resolve", cmd(t, im, one.Channel.Id, "/incident resolve Rolled back").Text, "")
	// Incident 2 stays open; incident 3 was started by the ghost.
	two := start(t, r.starter, "Search slow "+p+" --severity S3")
	three := start(t, ghost, "Ghost story "+p+" --severity S3")
	for _, s := range []started{one, two, three} {
		waitCmd(t, srv.Admin, s.Channel.Id, "/incident timeline", "Incident manager: ")
	}
	mustContain(t, "resolve 3", cmd(t, srv.Admin, three.Channel.Id, "/incident resolve done").Text, "")
	waitCmd(t, srv.Admin, one.Channel.Id, "/incident timeline", "postmortem posted")

	// Export on the first server.
	mustContain(t, "non-admin export", cmd(t, r.starter, srv.TownSquare.Id, "/incident archive export").Text, "only system admins")
	asked := model.GetMillis()
	mustContain(t, "export", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident archive export").Text, "Exporting")
	file := waitArchiveFile(t, ctx, srv, srv.Admin, asked)

	// The incidents page leads admins to the archive page, which offers
	// the same archive as a download: a POST, which a browser session
	// sends only with its CSRF token (the server refuses it otherwise, so
	// a link or an image in a post cannot start an export).
	mustContain(t, "admin's list page", pageText(t, srv, srv.Admin, web.IncidentsPath), `id="archive-page"`)
	if strings.Contains(pageText(t, srv, r.starter, web.IncidentsPath), `id="archive-page"`) {
		t.Fatal("the list page offers the archive to a non-admin")
	}
	if code, _ := postPage(t, srv, r.starter, web.ArchivePath, nil, ""); code != http.StatusForbidden {
		t.Fatalf("a non-admin's archive download: status %d", code)
	}
	if code, _ := pageStatus(t, srv, srv.Admin, web.ArchivePath); code != http.StatusMethodNotAllowed {
		t.Fatalf("an archive download by GET: status %d", code)
	}
	cookies, csrf := browserLogin(t, srv, srv.Admin)
	if code, _ := postPage(t, srv, nil, web.ArchivePath, cookies, ""); code != http.StatusUnauthorized {
		t.Fatalf("a browser session's download without its CSRF token: status %d", code)
	}
	since := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	code, body := postPage(t, srv, nil, web.ArchivePath, cookies, "csrf="+csrf+"&since="+since)
	if code != http.StatusOK {
		t.Fatalf("a browser session's download with its CSRF token: status %d %s", code, body)
	}
	downloaded := openArchiveBytes(t, []byte(body))
	for _, s := range []started{one, two, three} {
		if _, err := downloaded.Store().GetIncident(ctx, s.ID); err != nil {
			t.Fatalf("the downloaded archive lacks #%s: %v", s.ID, err)
		}
	}

	// The second server: its own database, the same team name, the same
	// usernames (but the ghost's) and the incidents' channels, as a
	// Mattermost bulk import would leave them, all under new ids.
	srv2 := harness.MustStart(t, harness.Options{Users: -1})
	if err := srv2.InstallPlugin(ctx, bundle, pluginID); err != nil {
		t.Fatal(err)
	}
	// Settings do not travel (the archive holds a copy to read): the
	// admin sets the ones the postmortem depends on as they were.
	if err := srv2.PatchPluginConfig(ctx, pluginID, map[string]any{"HotfixSignoffGroups": "qa", "UpdateCadence": "S1=off, S2=off, S3=off, S4=off"}); err != nil {
		t.Fatal(err)
	}
	// The archive holds every incident of the first server, this test's
	// and the earlier tests': the second server gets every user and
	// channel its directory names, as a bulk import would bring them, but
	// the ghost.
	exported := openArchiveBytes(t, file)
	users2 := map[string]*harness.User{}
	for _, u := range exported.Directory.Users {
		if u.Bot || u.Username == ghost.Username || u.Username == srv2.Admin.Username {
			continue
		}
		users2[u.Username] = userOn(t, ctx, srv2, u.Username)
	}
	for _, u := range []*harness.User{r.starter, r.holder["l1"], r.holder["l2"], r.holder["l3"], im, qa, rm} {
		if users2[u.Username] == nil || users2[u.Username].Id == u.Id {
			t.Fatalf("%s: missing from the archive's directory, or the same id on both servers", u.Username)
		}
	}
	for _, c := range exported.Directory.Channels {
		if c.Team != srv2.Team.Name {
			continue
		}
		if _, _, err := srv2.Admin.Client.CreateChannel(ctx, &model.Channel{TeamId: srv2.Team.Id, Name: c.Name, DisplayName: c.DisplayName, Type: model.ChannelTypeOpen}); err != nil {
			t.Fatalf("channel %s: %v", c.Name, err)
		}
	}
	for _, s := range []started{one, two, three} {
		if _, _, err := srv2.Admin.Client.AddChannelMember(ctx, mustChannel(t, ctx, srv2, s.Channel.Name).Id, users2[r.starter.Username].Id); err != nil {
			t.Fatal(err)
		}
	}

	// Bad files and non-admins get clear answers and change nothing.
	mustContain(t, "truncated", harness.PostText(sendArchive(t, ctx, srv2, srv2.Admin, file[:len(file)/2], "cut short")), "copy it again")
	outsider := userOn(t, ctx, srv2, p+"-outsider")
	sendArchive(t, ctx, srv2, outsider, file, "Only system admins can import")

	// Import: the preview says what will happen, Import does it.
	all := exported.Meta.Incidents
	preview := sendArchive(t, ctx, srv2, srv2.Admin, file, fmt.Sprintf("Would import %d new incidents", all))
	// The rota and the sign-off groups decide who is paged and who signs
	// hotfixes off: shown with their members, taken only by the second
	// button.
	mustContain(t, "preview", harness.PostText(preview), "@"+ghost.Username, "#"+three.ID, "Users not on this server (1)",
		"Not added unless you import with the rota and sign-off groups: the rota of the archive", "the sign-off groups of the archive", "qa: @"+users2[qa.Username].Username)
	if !hasButton(preview, "archiveimportshared") {
		t.Fatal("the preview offers no import with the rota and sign-off groups")
	}
	if _, err := srv2.ClickButton(ctx, srv2.Admin, preview.Id, "archiveimportshared"); err != nil {
		t.Fatal(err)
	}
	done := waitPostOn(t, ctx, srv2, preview.Id, fmt.Sprintf("Imported %d new incidents", all))
	mustContain(t, "report", done, "@"+ghost.Username, "Added the rota of the archive", "Added the sign-off groups of the archive")

	// The same incidents read the same on both servers.
	starter2 := users2[r.starter.Username]
	for _, s := range []started{one, two} {
		a := cmdOn(t, srv, r.starter, s.Channel.Id, "/incident timeline "+s.ID).Text
		b := cmdOn(t, srv2, starter2, mustChannel(t, ctx, srv2, s.Channel.Name).Id, "/incident timeline "+s.ID).Text
		if a != b {
			t.Fatalf("timeline of #%s differs:\n--- first server\n%s\n--- second server\n%s", s.ID, a, b)
		}
		pa, pb := pageText(t, srv, r.starter, web.IncidentPath(s.ID)+"/postmortem.md"), pageText(t, srv2, starter2, web.IncidentPath(s.ID)+"/postmortem.md")
		if s.ID == two.ID { // a draft measures up to now
			pa, pb = dropLines(pa, "Draft"), dropLines(pb, "Draft")
		}
		if pa != pb {
			t.Fatalf("postmortem of #%s differs:\n--- first server\n%s\n--- second server\n%s", s.ID, pa, pb)
		}
	}
	mustContain(t, "postmortem on the second server", pageText(t, srv2, starter2, web.IncidentPath(one.ID)+"/postmortem.md"),
		"@\u200b"+r.holder["l2"].Username, "Alert on 502 rate", "Roll back the payment client", "@\u200b"+r.starter.Username)
	rowA := listRow(cmdOn(t, srv, r.starter, srv.TownSquare.Id, "/incident list").Text, two.ID)
	rowB := listRow(cmdOn(t, srv2, starter2, srv2.TownSquare.Id, "/incident list").Text, two.ID)
	if rowA == "" || strings.ReplaceAll(rowA, srv.URL, srv2.URL) != rowB {
		t.Fatalf("/incident list row of #%s differs:\n%s\n%s", two.ID, rowA, rowB)
	}

	// Again: nothing changes.
	again := sendArchive(t, ctx, srv2, srv2.Admin, file, "Nothing to import")
	mustContain(t, "second import", harness.PostText(again), fmt.Sprintf("%d are the same here already", all))
	if hasButton(again, "archiveimport") {
		t.Fatal("a second import of the same archive offers to import")
	}
}

// waitArchiveFile waits for the bot's direct message to u with an archive
// file, posted at or after since (Unix ms), and returns the file's bytes.
func waitArchiveFile(t *testing.T, ctx context.Context, s *harness.Server, u *harness.User, since int64) []byte {
	t.Helper()
	ch, bot := botDMOf(t, ctx, s, u)
	var fileID string
	harness.Eventually(t, wait, "the archive in a direct message", func() (bool, error) {
		posts, err := s.Posts(ctx, u, ch.Id)
		if err != nil {
			return false, err
		}
		for _, p := range posts {
			if p.UserId == bot.Id && p.CreateAt >= since && len(p.FileIds) == 1 && strings.Contains(p.Message, "incident archive of every incident") {
				fileID = p.FileIds[0]
				return true, nil
			}
		}
		return false, nil
	})
	data, _, err := u.Client.GetFile(ctx, fileID)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// openArchiveBytes opens an archive file's bytes, closed when t ends.
func openArchiveBytes(t *testing.T, data []byte) *archivefile.Archive {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.incidents")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := archivefile.Open(path)
	if err != nil {
		t.Fatalf("open the archive: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// botDMOf returns the direct channel between u and the bot of s, and the
// bot.
func botDMOf(t *testing.T, ctx context.Context, s *harness.Server, u *harness.User) (*model.Channel, *model.User) {
	t.Helper()
	bot, _, err := s.Admin.Client.GetUserByUsername(ctx, "incident", "")
	if err != nil {
		t.Fatal(err)
	}
	ch, _, err := u.Client.CreateDirectChannel(ctx, u.Id, bot.Id)
	if err != nil {
		t.Fatal(err)
	}
	return ch, bot
}

// sendArchive sends the archive to the bot of s as u and returns the
// bot's answer once it contains want.
func sendArchive(t *testing.T, ctx context.Context, s *harness.Server, u *harness.User, data []byte, want string) *model.Post {
	t.Helper()
	ch, bot := botDMOf(t, ctx, s, u)
	up, _, err := u.Client.UploadFile(ctx, data, ch.Id, "history.incidents")
	if err != nil {
		t.Fatal(err)
	}
	sent, _, err := u.Client.CreatePost(ctx, &model.Post{ChannelId: ch.Id, FileIds: model.StringArray{up.FileInfos[0].Id}})
	if err != nil {
		t.Fatal(err)
	}
	var answer *model.Post
	defer func() {
		if t.Failed() && answer != nil {
			t.Logf("the bot's last answer:\n%s", harness.PostText(answer))
		}
	}()
	harness.Eventually(t, wait, "the bot's answer to the archive saying "+want, func() (bool, error) {
		posts, err := s.Posts(ctx, u, ch.Id)
		if err != nil {
			return false, err
		}
		for _, p := range posts {
			if p.UserId == bot.Id && p.RootId == sent.Id {
				answer = p
				return strings.Contains(p.Message, want), nil
			}
		}
		return false, nil
	})
	return answer
}

// waitPostOn waits until post id on s reads want, and returns its text.
func waitPostOn(t *testing.T, ctx context.Context, s *harness.Server, id, want string) string {
	t.Helper()
	var text string
	harness.Eventually(t, 2*wait, "post "+id+" reading "+want, func() (bool, error) {
		p, _, err := s.Admin.Client.GetPost(ctx, id, "")
		if err != nil {
			return false, err
		}
		text = p.Message
		return strings.Contains(text, want), nil
	})
	return text
}

func mustChannel(t *testing.T, ctx context.Context, s *harness.Server, name string) *model.Channel {
	t.Helper()
	ch, _, err := s.Admin.Client.GetChannelByName(ctx, name, s.Team.Id, "")
	if err != nil {
		t.Fatalf("channel %s: %v", name, err)
	}
	return ch
}

// pageText fetches one of the plugin's pages on s as u.
func pageText(t *testing.T, s *harness.Server, u *harness.User, path string) string {
	t.Helper()
	code, body := pageStatus(t, s, u, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}

// pageStatus fetches one of the plugin's pages on s as u, whatever its
// status.
func pageStatus(t *testing.T, s *harness.Server, u *harness.User, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, s.URL+"/plugins/"+pluginID+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+u.Client.AuthToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func dropLines(s, containing string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, containing) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func listRow(list, id string) string {
	for _, l := range strings.Split(list, "\n") {
		if strings.Contains(l, "`"+id+"`") {
			return l
		}
	}
	return ""
}

// postPage posts form (URL-encoded; "" for none) to one of the plugin's
// routes on s, as u (a token) or with cookies (a browser session).
func postPage(t *testing.T, s *harness.Server, u *harness.User, path string, cookies []*http.Cookie, form string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, s.URL+"/plugins/"+pluginID+path, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if u != nil {
		req.Header.Set("Authorization", "Bearer "+u.Client.AuthToken)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// browserLogin signs u in as the web app does and returns the session's
// cookies and its CSRF token.
func browserLogin(t *testing.T, s *harness.Server, u *harness.User) ([]*http.Cookie, string) {
	t.Helper()
	body := fmt.Sprintf(`{"login_id":%q,"password":%q}`, u.Username, u.Password)
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, s.URL+"/api/v4/users/login", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(model.HeaderRequestedWith, model.HeaderRequestedWithXML) // the web app's login: cookies in the answer
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session []*http.Cookie
	csrf := ""
	for _, c := range res.Cookies() {
		switch c.Name {
		case model.SessionCookieToken:
			session = append(session, c)
		case model.SessionCookieCsrf:
			csrf = c.Value
		}
	}
	if res.StatusCode != http.StatusOK || len(session) == 0 || csrf == "" {
		t.Fatalf("browser login as %s: %d, cookies %v", u.Username, res.StatusCode, res.Cookies())
	}
	return session, csrf
}
