package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// AlertsPath receives monitoring webhooks:
// POST /plugins/<id>/api/v1/alerts?source=alertmanager|grafana.
const AlertsPath = "/api/v1/alerts"

// TokenHeader carries an alert source's secret. The standard
// "Authorization: Bearer <token>" (what Alertmanager's
// http_config.authorization and Grafana's webhook contact point send) is
// accepted too, but only servers from 9.4 pass that header to plugins;
// older ones remove it first, so this header is the one that works
// everywhere. A token in the URL is refused: URLs end up in logs.
const TokenHeader = "X-Incident-Token"

// The replies to requests that carry no usable token.
const (
	msgTokenInQuery = "the token in the URL is not accepted (URLs end up in logs): remove token= from the URL and send the token in the " +
		"X-Incident-Token header, or as Authorization: Bearer <token> on Mattermost 9.4 and later"
	msgNoToken = "no token: send it in the X-Incident-Token header, or as Authorization: Bearer <token> " +
		"(Mattermost 9.4 and later pass that header to plugins; older servers remove it before the plugin sees it)"
	msgBadToken = "unknown source or wrong token: use ?source=alertmanager or ?source=grafana with that source's token from the plugin settings"
)

// AlertPlatform is what the alert route needs from Mattermost to find the
// team alerts open incidents in.
type AlertPlatform interface {
	GetTeamByName(name string) (*model.Team, *model.AppError)
	GetChannel(channelID string) (*model.Channel, *model.AppError)
	CreateTeamMember(teamID, userID string) (*model.TeamMember, *model.AppError)
}

// alertError is the JSON body of a refused or failed delivery.
type alertError struct {
	Error string `json:"error"`
	app.AlertResult
}

// serveAlerts takes a notification from Alertmanager or Grafana. It is not
// behind authed: monitoring systems have no Mattermost session, so the
// source's token authenticates them instead, checked before the body is
// read, so that an unauthenticated sender costs no more than the headers.
// Every refusal happens before anything is stored.
func (a *API) serveAlerts(w http.ResponseWriter, r *http.Request) {
	set := a.App.AlertSettings()
	src, why, msg := authenticateAlert(r, set.Tokens)
	if why != "" {
		a.Log.Warn().Str("source", r.URL.Query().Get("source")).Str("remote", r.RemoteAddr).Msg("alert webhook refused: " + why)
		w.Header().Set("WWW-Authenticate", `Bearer realm="incident bot alerts"`)
		a.alertReply(w, http.StatusUnauthorized, msg, app.AlertResult{})
		return
	}

	if r.ContentLength > alert.MaxBody {
		a.alertReply(w, http.StatusRequestEntityTooLarge, "the body is larger than 1 MiB", app.AlertResult{})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, alert.MaxBody))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			a.alertReply(w, http.StatusRequestEntityTooLarge, "the body is larger than 1 MiB", app.AlertResult{})
			return
		}
		a.alertReply(w, http.StatusBadRequest, "could not read the body", app.AlertResult{})
		return
	}
	payload, err := alert.Parse(body)
	if err != nil {
		a.alertReply(w, http.StatusBadRequest, incident.UserMessage(err), app.AlertResult{})
		return
	}

	teamID, err := a.alertTeam(set)
	if err != nil {
		a.Log.Error().Err(err).Msg("alert webhook: no team to open incidents in")
		a.alertReply(w, http.StatusInternalServerError, "the incident bot has no team for alerts: set Alert team or Broadcast channel in its settings", app.AlertResult{})
		return
	}
	res, err := a.App.IngestAlerts(r.Context(), app.AlertRequest{Source: src, TeamID: teamID, ActorID: a.BotID, Payload: payload})
	if err != nil {
		a.Log.Error().Err(err).Str("source", string(src)).Msg("alert webhook: some alerts failed")
		code := http.StatusInternalServerError
		if incident.KindOf(err) == incident.KindConflict {
			// Another delivery of the same alert is still opening its
			// incident: a retry will attach to it.
			code = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "5")
		}
		a.alertReply(w, code, incident.UserMessage(err), res)
		return
	}
	writeJSON(w, res)
}

// authenticateAlert finds the request's source and checks its token
// against tokens, in constant time. A refused request gets why (for the
// log) and msg (the reply, saying what to do); an accepted one neither.
func authenticateAlert(r *http.Request, tokens map[alert.Source]string) (src alert.Source, why, msg string) {
	q := r.URL.Query()
	src, known := alert.ParseSource(q.Get("source"))
	token := requestToken(r)
	switch {
	case q.Has("token"):
		return "", "token in the URL", msgTokenInQuery
	case token == "":
		return "", "no token", msgNoToken
	case !known || !tokenMatches(token, tokens[src]):
		return "", "unknown source, source disabled, or wrong token", msgBadToken
	}
	return src, "", ""
}

// requestToken returns the token of an alert request: the bearer token of
// its Authorization header, else its X-Incident-Token header ("" if
// neither carries one).
func requestToken(r *http.Request) string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		if t := strings.TrimSpace(cred); t != "" {
			return t
		}
	}
	return strings.TrimSpace(r.Header.Get(TokenHeader))
}

// tokenMatches compares in constant time. Hashing first makes the time
// independent of the lengths too; an empty configured token disables the
// source.
func tokenMatches(given, want string) bool {
	if want == "" || given == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// alertTeam resolves the team alerts open incidents in and makes sure the
// bot, which opens them, belongs to it (it must, to join their channels).
func (a *API) alertTeam(set app.AlertSettings) (string, error) {
	var teamID string
	if set.TeamName != "" {
		team, appErr := a.Platform.GetTeamByName(set.TeamName)
		if appErr != nil {
			return "", appErr
		}
		teamID = team.Id
	} else {
		bc := a.App.BroadcastChannelID()
		if bc == "" {
			return "", errors.New("neither Alert team nor Broadcast channel is set")
		}
		ch, appErr := a.Platform.GetChannel(bc)
		if appErr != nil {
			return "", appErr
		}
		if ch.TeamId == "" {
			return "", errors.New("the broadcast channel belongs to no team")
		}
		teamID = ch.TeamId
	}
	// Joining is idempotent; a failure shows up as a clear error from the
	// incident start, so it is only logged here.
	if _, appErr := a.Platform.CreateTeamMember(teamID, a.BotID); appErr != nil {
		a.Log.Warn().Err(appErr).Str("team", teamID).Msg("add the bot to the alert team")
	}
	return teamID, nil
}

func (a *API) alertReply(w http.ResponseWriter, code int, msg string, res app.AlertResult) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	writeJSON(w, alertError{Error: msg, AlertResult: res})
}
