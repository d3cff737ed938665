package api

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A page asked for without a session is sent to the sign-in page, by a
// relative address that resolves under the plugin whatever its path, with
// the page as next; other routes and signed-in requests pass through.
func TestSignInGateRedirectsPagesWithoutASession(t *testing.T) {
	passed := 0
	h := SignInGate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { passed++ }))
	for _, tc := range []struct {
		path, want string
	}{
		{"/incidents?status=open", "/plugins/p/signin?next=%2Fincidents%3Fstatus%3Dopen"},
		{"/incidents/abc", "/plugins/p/signin?next=%2Fincidents%2Fabc"},
		{"/incidents/abc/postmortem.md", "/plugins/p/signin?next=%2Fincidents%2Fabc%2Fpostmortem.md"},
		{"/stats", "/plugins/p/signin?next=%2Fstats"},
		{"/rota", "/plugins/p/signin?next=%2Frota"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != http.StatusFound {
			t.Errorf("GET %s: status %d, want 302", tc.path, rec.Code)
			continue
		}
		// Resolve as the browser would, against the address it asked for.
		asked, _ := url.Parse("https://chat.example.com/plugins/p" + tc.path)
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		if got := asked.ResolveReference(loc).RequestURI(); got != tc.want {
			t.Errorf("GET %s: redirected to %s, want %s", tc.path, got, tc.want)
		}
	}
	if passed != 0 {
		t.Fatalf("%d unauthenticated page requests reached the pages", passed)
	}
	for _, r := range []*http.Request{
		withUser(httptest.NewRequest("GET", "/incidents", nil)),
		httptest.NewRequest("GET", "/signin", nil),
		httptest.NewRequest("GET", "/autocomplete/incidents", nil),
		httptest.NewRequest("POST", "/incidents", nil),
		httptest.NewRequest("GET", "/rota.ics", nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if passed != 5 {
		t.Fatalf("%d of 5 other requests passed through", passed)
	}
}

func withUser(r *http.Request) *http.Request {
	r.Header.Set("Mattermost-User-Id", "u1")
	return r
}

// The sign-in page is served to anyone, carries next only as a path under
// the plugin, and runs only its own inline script (nonce in the CSP).
func TestSignInPage(t *testing.T) {
	a := &API{}
	for next, want := range map[string]string{
		"/incidents/abc":           `data-next="/incidents/abc"`,
		"https://evil.example.com": `data-next="/incidents"`,
		"//evil.example.com":       `data-next="/incidents"`,
		`/"><script>x</script>`:    `data-next="/&#34;&gt;&lt;script&gt;x&lt;/script&gt;"`,
	} {
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/signin?next="+url.QueryEscape(next), nil))
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("next=%q: %d %s", next, rec.Code, rec.Header().Get("Content-Type"))
		}
		if !strings.Contains(body, want) {
			t.Errorf("next=%q: page lacks %s", next, want)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'nonce-") || !strings.Contains(body, "/api/v4/users/login") || !strings.Contains(body, "X-Requested-With") {
			t.Errorf("next=%q: CSP %q or login script missing", next, csp)
		}
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "src=") {
			t.Errorf("next=%q: the page loads something external", next)
		}
	}
}
