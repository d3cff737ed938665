package api

import (
	"net/http"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Calendar feed routes: GET /plugins/<id>/calendar/<token>.ics (a user's
// duty) and GET /plugins/<id>/calendar/team/<token>.ics (the whole rota).
// The secret token in the path authenticates them, not a session: calendar
// apps subscribe by URL and send no Mattermost credentials.
const (
	CalendarPath     = "/calendar/"
	CalendarTeamPath = "/calendar/team/"
)

// CalendarURL is the feed URL for a token under the plugin's base URL
// (site URL + "/plugins/<id>").
func CalendarURL(pluginURL, token string, team bool) string {
	p := CalendarPath
	if team {
		p = CalendarTeamPath
	}
	return strings.TrimSuffix(pluginURL, "/") + p + token + ".ics"
}

func (a *API) servePersonalCalendar(w http.ResponseWriter, r *http.Request) {
	a.serveCalendar(w, r, false)
}

func (a *API) serveTeamCalendar(w http.ResponseWriter, r *http.Request) {
	a.serveCalendar(w, r, true)
}

// serveCalendar answers a feed request. Any failure to resolve the token
// is a plain 404, saying nothing about why.
func (a *API) serveCalendar(w http.ResponseWriter, r *http.Request, team bool) {
	token, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok {
		http.NotFound(w, r)
		return
	}
	// Summaries repeat ("Third line: <@id>" every other week): render each
	// once, not one user lookup per event.
	rendered := map[string]string{}
	render := func(s string) string {
		out, ok := rendered[s]
		if !ok {
			out = s
			if a.Render != nil {
				out = a.Render(s)
			}
			rendered[s] = out
		}
		return out
	}
	body, err := a.App.CalendarFeed(r.Context(), token, team, render)
	if err != nil {
		if incident.KindOf(err) == incident.KindNotFound {
			http.NotFound(w, r)
			return
		}
		a.logInternal(r.Context(), err, "calendar", "")
		http.Error(w, "the calendar feed is not available right now", status(err))
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}
