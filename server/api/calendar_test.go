package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The calendar routes take no session: the secret token in the path is the
// credential, and anything else is a plain 404.
func TestCalendarFeedRoutes(t *testing.T) {
	e := newRouteEnv(t)
	token, err := e.app.CalendarToken(ctx, "rob", "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	w := get(CalendarURL("", token, false))
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/calendar; charset=utf-8" ||
		!strings.HasPrefix(w.Body.String(), "BEGIN:VCALENDAR\r\n") || !strings.Contains(w.Body.String(), "On duty: Release manager") {
		t.Fatalf("feed: %d %q\n%s", w.Code, w.Header(), w.Body)
	}
	for _, path := range []string{
		CalendarURL("", token, true), // a personal token is no team token
		CalendarURL("", strings.Repeat("a", 64), false),
		"/calendar/" + token, // no .ics
		"/calendar/" + token + ".ics/x",
	} {
		if w := get(path); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, w.Code)
		}
	}
	if _, err := e.app.CalendarToken(ctx, "rob", "", false, true); err != nil {
		t.Fatal(err)
	}
	if w := get(CalendarURL("", token, false)); w.Code != http.StatusNotFound {
		t.Errorf("old URL after reset: %d", w.Code)
	}
}
