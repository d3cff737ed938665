package browser_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// needBrowser skips the test, with the reason, when there is no browser
// (and so no server either): call it before anything that uses srv.
func needBrowser(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// browse starts a fresh headless Chromium (its own profile: no cookies)
// for one test and returns its context, bounded to a minute.
func browse(t *testing.T) context.Context {
	t.Helper()
	needBrowser(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // containers and CI run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	// Chromium sometimes exits at once when it starts while the machine
	// is busy (CI runs the other packages' tests beside these): it then
	// prints nothing but crashpad's complaints. A fresh start works, so
	// each test gets up to three.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var ctx context.Context
		if ctx, err = startChromium(t, opts); err == nil {
			return ctx
		}
		t.Logf("start %s, attempt %d: %v", chromium, attempt, err)
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
	t.Fatalf("start %s: %v", chromium, err)
	return nil
}

// startChromium starts one Chromium with opts; it is stopped when t ends.
func startChromium(t *testing.T, opts []chromedp.ExecAllocatorOption) (context.Context, error) {
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// Chromium is newer than chromedp's protocol tables: events it cannot
	// decode (new enum values) are irrelevant here and only noise.
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithErrorf(func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "could not unmarshal event") {
			t.Logf("chromedp: %s", msg)
		}
	}))
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	stop := func() { cancelTimeout(); cancelCtx(); cancelAlloc() }
	if err := chromedp.Run(ctx); err != nil {
		stop()
		return nil, err
	}
	t.Cleanup(stop)
	return ctx, nil
}

func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		shot(t, ctx, "failed-"+what)
		t.Fatalf("%s: %v", what, err)
	}
}

var (
	artefactsOnce sync.Once
	artefacts     string
	artefactsErr  error
)

// shot saves a full-page PNG of what the browser shows as a test
// artefact, in INCIDENT_BOT_ARTEFACTS, else in a temp dir that is kept.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	artefactsOnce.Do(func() {
		artefacts = os.Getenv("INCIDENT_BOT_ARTEFACTS")
		if artefacts == "" {
			artefacts, artefactsErr = os.MkdirTemp("", "incident-bot-screenshots-")
			return
		}
		artefactsErr = os.MkdirAll(artefacts, 0o755)
	})
	if artefactsErr != nil {
		t.Errorf("screenshot dir: %v", artefactsErr)
		return
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(artefacts, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// signIn asks for the incident list without a session, is sent to the
// sign-in page, signs in as u and lands on the list.
func signIn(t *testing.T, ctx context.Context, u *harness.User) {
	t.Helper()
	var loc string
	do(t, ctx, "open the incidents without a session",
		chromedp.Navigate(base()+"/incidents"),
		chromedp.WaitVisible("form#signin", chromedp.ByQuery),
		chromedp.Location(&loc))
	if want := base() + "/signin?next=%2Fincidents"; loc != want {
		t.Fatalf("without a session the list went to %s, want %s", loc, want)
	}
	shot(t, ctx, "signin")
	do(t, ctx, "sign in as "+u.Username,
		chromedp.SendKeys("#login_id", u.Username, chromedp.ByID),
		chromedp.SendKeys("#password", u.Password, chromedp.ByID),
		chromedp.Click("#signin-submit", chromedp.ByID),
		waitLocation(base()+"/incidents"))
}

// waitLocation waits until the page's address is want.
func waitLocation(want string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var loc, msg string
		for {
			if err := chromedp.Run(ctx, chromedp.Location(&loc)); err == nil && loc == want {
				return nil
			}
			_ = chromedp.Run(ctx, chromedp.Evaluate(`(document.getElementById('signin-error')||{}).textContent||''`, &msg))
			select {
			case <-ctx.Done():
				return fmt.Errorf("still at %s, not %s (sign-in error %q): %w", loc, want, msg, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// open navigates to a plugin page and returns the document's HTTP status.
func openPage(t *testing.T, ctx context.Context, path string) int {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(base()+path))
	if err != nil {
		shot(t, ctx, "failed-open")
		t.Fatalf("open %s: %v", path, err)
	}
	var loc string
	do(t, ctx, "location", chromedp.Location(&loc))
	if strings.Contains(loc, "/signin") {
		t.Fatalf("open %s: sent to the sign-in page (%s): the session cookie did not authenticate the plugin route", path, loc)
	}
	return int(resp.Status)
}

func bodyText(t *testing.T, ctx context.Context) string {
	t.Helper()
	var s string
	do(t, ctx, "read the page", chromedp.Evaluate(`document.body ? document.body.innerText : ''`, &s))
	return s
}

func count(t *testing.T, ctx context.Context, selector string) int {
	t.Helper()
	var n int
	do(t, ctx, "count "+selector, chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%q).length`, selector), &n))
	return n
}

func rowSel(id string) string { return fmt.Sprintf(`table#incidents tr[data-incident=%q]`, id) }

// The sign-in page signs a user in with the server's own login API; the
// session cookie it sets then authenticates the plugin's pages (the
// server sets Mattermost-User-Id from it), and a wrong password is
// refused on the page.
func TestSignIn(t *testing.T) {
	ctx := browse(t)
	do(t, ctx, "open the sign-in page",
		chromedp.Navigate(base()+"/signin?next=%2Fstats"),
		chromedp.WaitVisible("form#signin", chromedp.ByQuery),
		chromedp.SendKeys("#login_id", member.Username, chromedp.ByID),
		chromedp.SendKeys("#password", "not-the-password", chromedp.ByID),
		chromedp.Click("#signin-submit", chromedp.ByID))
	var msg string
	do(t, ctx, "wrong password", chromedp.Poll(`(function(){var e=document.getElementById('signin-error');return e&&e.textContent?e.textContent:false;})()`, &msg, chromedp.WithPollingTimeout(15*time.Second)))
	shot(t, ctx, "wrong-password")
	if !strings.Contains(strings.ToLower(msg), "password") && !strings.Contains(strings.ToLower(msg), "invalid") {
		t.Errorf("wrong password: the page says %q", msg)
	}

	signIn(t, ctx, member)
	var cookies string
	do(t, ctx, "cookies", chromedp.Evaluate(`document.cookie`, &cookies))
	if !strings.Contains(cookies, "MMUSERID=") {
		t.Errorf("no session after sign-in: cookies %q", cookies)
	}
	if code := openPage(t, ctx, "/stats"); code != http.StatusOK {
		t.Errorf("/stats after sign-in: status %d", code)
	}
}

// A member signs in and sees the incidents started through the API on the
// list, an incident's timeline chart with the same time to acknowledge as
// its postmortem, the stats charts and the rota.
func TestPagesShowTheIncidents(t *testing.T) {
	ctx := browse(t)
	signIn(t, ctx, member)

	do(t, ctx, "incident list", chromedp.WaitVisible("table#incidents", chromedp.ByQuery))
	shot(t, ctx, "list")
	for _, inc := range []incidentRef{resolved, openInc, private} {
		if count(t, ctx, rowSel(inc.ID)) != 1 {
			t.Errorf("the list has no row for #%s %q (the member is in its channel)", inc.ID, inc.Title)
		}
	}
	text := bodyText(t, ctx)
	for _, inc := range []incidentRef{resolved, openInc} {
		if !strings.Contains(text, inc.Title) {
			t.Errorf("the list does not show %q", inc.Title)
		}
	}
	var rowTTA string
	do(t, ctx, "the row's time to acknowledge", chromedp.Text(rowSel(resolved.ID)+` [data-metric="tta"]`, &rowTTA, chromedp.ByQuery))
	if want := postmortemTTA(t); strings.TrimSpace(rowTTA) != want {
		t.Errorf("the list's time to acknowledge is %q, the postmortem's %q", rowTTA, want)
	}
	if openPage(t, ctx, "/incidents?status=resolved") != http.StatusOK {
		t.Fatal("filtered list failed")
	}
	do(t, ctx, "filtered list", chromedp.WaitVisible("table#incidents", chromedp.ByQuery))
	if count(t, ctx, rowSel(resolved.ID)) != 1 || count(t, ctx, rowSel(openInc.ID)) != 0 {
		t.Errorf("status=resolved: rows for resolved %d, open %d; want 1, 0", count(t, ctx, rowSel(resolved.ID)), count(t, ctx, rowSel(openInc.ID)))
	}

	// The incident: the timeline chart, and the time to acknowledge the
	// postmortem states.
	if code := openPage(t, ctx, "/incidents/"+resolved.ID); code != http.StatusOK {
		t.Fatalf("incident page: status %d", code)
	}
	do(t, ctx, "timeline chart", chromedp.WaitVisible("svg#timeline", chromedp.ByQuery))
	shot(t, ctx, "incident")
	if n := count(t, ctx, "svg#timeline *"); n < 3 {
		t.Errorf("the timeline chart has %d elements", n)
	}
	var tta string
	do(t, ctx, "time to acknowledge", chromedp.Text(`[data-metric="tta"]`, &tta, chromedp.ByQuery))
	want := postmortemTTA(t)
	if strings.TrimSpace(tta) != want {
		t.Errorf("the page's time to acknowledge is %q, the postmortem's %q", tta, want)
	}

	if code := openPage(t, ctx, "/stats"); code != http.StatusOK {
		t.Fatalf("stats page: status %d", code)
	}
	do(t, ctx, "stats", chromedp.WaitVisible("svg", chromedp.ByQuery))
	shot(t, ctx, "stats")
	if n := count(t, ctx, "svg rect, svg path, svg line, svg circle, svg polyline"); n == 0 {
		t.Errorf("the stats page has no chart elements")
	}

	if code := openPage(t, ctx, "/rota"); code != http.StatusOK {
		t.Fatalf("rota page: status %d", code)
	}
	do(t, ctx, "rota", chromedp.WaitVisible("table#rota", chromedp.ByQuery))
	shot(t, ctx, "rota")
	var rota string
	do(t, ctx, "rota text", chromedp.Text("table#rota", &rota, chromedp.ByQuery))
	if !strings.Contains(rota, firstLine.Username) {
		t.Errorf("the rota does not name the first line @%s:\n%s", firstLine.Username, rota)
	}
}

var ttaRe = regexp.MustCompile(`\*\*Time to first acknowledgement:\*\* (.+?) \(first page`)

// postmortemTTA is the time to acknowledge in the resolved incident's
// postmortem Markdown, as its member downloads it.
func postmortemTTA(t *testing.T) string {
	t.Helper()
	code, md, err := get(context.Background(), member, "/incidents/"+resolved.ID+"/postmortem.md")
	if err != nil || code != http.StatusOK {
		t.Fatalf("postmortem.md: %d %v\n%s", code, err, md)
	}
	m := ttaRe.FindStringSubmatch(md)
	if m == nil {
		t.Fatalf("the postmortem states no time to acknowledge:\n%s", md)
	}
	return m[1]
}

// Someone outside a private incident's channels finds it nowhere: not on
// the list, not at its address (404, as if it did not exist), not in its
// postmortem, the stats or the rota; the stats say that some incidents
// are not shown.
func TestPrivateIncidentInvisibleToOutsider(t *testing.T) {
	ctx := browse(t)
	signIn(t, ctx, outsider)

	do(t, ctx, "incident list", chromedp.WaitVisible("table#incidents", chromedp.ByQuery))
	shot(t, ctx, "list")
	if count(t, ctx, rowSel(resolved.ID)) != 1 {
		t.Errorf("the outsider does not see the public incident #%s", resolved.ID)
	}
	if count(t, ctx, rowSel(private.ID)) != 0 {
		t.Errorf("the list shows the private incident #%s to an outsider", private.ID)
	}
	hidden := func(page string) {
		t.Helper()
		text := bodyText(t, ctx)
		var html string
		do(t, ctx, "page source", chromedp.OuterHTML("html", &html, chromedp.ByQuery))
		for _, leak := range []string{private.Title, "Payroll", private.ID} {
			if strings.Contains(text, leak) || strings.Contains(html, leak) {
				t.Errorf("%s shows %q of the private incident to an outsider", page, leak)
			}
		}
	}
	hidden("the list")

	// At its address the private incident answers exactly as an incident
	// that does not exist: 404, and nothing but the id the URL carries.
	const nonexistent = "zzzzzz"
	for _, path := range []string{"/incidents/%s", "/incidents/%s/postmortem.md"} {
		var bodies [2]string
		for i, id := range []string{private.ID, nonexistent} {
			p := fmt.Sprintf(path, id)
			if code := openPage(t, ctx, p); code != http.StatusNotFound {
				t.Errorf("%s: status %d for an outsider, want 404", p, code)
			}
			if i == 0 {
				shot(t, ctx, "private-direct-url")
			}
			bodies[i] = strings.ReplaceAll(bodyText(t, ctx), id, "ID")
		}
		if bodies[0] != bodies[1] {
			t.Errorf("%s: the private incident answers %q, one that does not exist %q", path, bodies[0], bodies[1])
		}
		for _, leak := range []string{private.Title, "Payroll"} {
			if strings.Contains(bodies[0], leak) {
				t.Errorf("%s shows %q to an outsider", path, leak)
			}
		}
	}

	if code := openPage(t, ctx, "/stats"); code != http.StatusOK {
		t.Fatalf("stats page: status %d", code)
	}
	shot(t, ctx, "stats")
	hidden("the stats")
	// The stats say that private incidents are not counted, never how
	// many: a count per chosen window would tell when they started.
	var note, counted string
	do(t, ctx, "the stats' note on private incidents",
		chromedp.Text("#private-note", &note, chromedp.ByQuery),
		chromedp.Text("#count", &counted, chromedp.ByQuery))
	if !strings.Contains(note, "Private incidents") || strings.Contains(counted, "cannot see") {
		t.Errorf("the stats' count %q and note %q", counted, note)
	}

	if code := openPage(t, ctx, "/rota"); code != http.StatusOK {
		t.Fatalf("rota page: status %d", code)
	}
	shot(t, ctx, "rota")
	hidden("the rota")
}

// The web app stub adds an "Incidents" main menu entry and channel header
// button that open the plugin's incidents page, and does nothing on a web
// app without those registry methods.
func TestWebappStubOpensTheIncidents(t *testing.T) {
	ctx := browse(t)
	src, err := os.ReadFile(filepath.Join("..", "..", "webapp-stub", "main.js"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	script := `(function(){
  var calls = [];
  window.basename = '/chat';
  window.open = function (u) { calls.push('open ' + u); return {}; };
  window.React = {createElement: function () { return {}; }};
  var regs = [
    {registerMainMenuAction: function (text, action) { calls.push('menu ' + text); action(); },
     registerChannelHeaderButtonAction: function (icon, action, text) { calls.push('header ' + text); action(); }},
    {}];
  window.registerPlugin = function (id, p) { calls.push('plugin ' + id); regs.forEach(function (r) { p.initialize(r); }); };
` + string(src) + `
  return calls;
})()`
	do(t, ctx, "load the stub", chromedp.Navigate("about:blank"), chromedp.Evaluate(script, &got))
	want := []string{"plugin " + pluginID, "menu Incidents", "open /chat/plugins/" + pluginID + "/incidents",
		"header Incidents", "open /chat/plugins/" + pluginID + "/incidents"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the stub did\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
