package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// AlertsPath receives monitoring webhooks:
// POST /plugins/<id>/api/v1/alerts?source=alertmanager|grafana.
const AlertsPath = "/api/v1/alerts"

// TokenHeader carries an alert source's secret. Not Authorization: servers
// before 9.4 do not pass that header to plugins.
const TokenHeader = "X-Incident-Token"

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
	q := r.URL.Query()
	src, known := alert.ParseSource(q.Get("source"))
	token := r.Header.Get(TokenHeader)
	if token == "" {
		token = q.Get("token")
	}
	set := a.App.AlertSettings()
	if !known || !tokenMatches(token, set.Tokens[src]) {
		a.Log.Warn().Str("source", q.Get("source")).Str("remote", r.RemoteAddr).Bool("token_given", token != "").
			Msg("alert webhook refused: unknown source, source disabled, or wrong token")
		a.alertReply(w, http.StatusUnauthorized, "unknown source or wrong token", app.AlertResult{})
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
