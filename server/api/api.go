// Package api serves the plugin's HTTP routes: card button clicks, dialog
// submissions and autocomplete lists. The acting user comes only from the
// Mattermost-User-Id header the server sets; requests without it are
// refused.
package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/bot"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/web"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// maxBody bounds request bodies; action and dialog payloads are small.
const maxBody = 256 << 10

// Platform is what the routes need from Mattermost beyond the app.
type Platform interface {
	GetPost(postID string) (*model.Post, *model.AppError)
	HasPermissionToTeam(userID, teamID string, permission *model.Permission) bool
	SendEphemeralPost(userID string, post *model.Post) *model.Post
	AlertPlatform
}

// Dialogs opens the dialogs buttons lead to.
type Dialogs interface {
	OpenUpdateDialog(triggerID string, inc *incident.Incident) error
	OpenResolveDialog(triggerID string, inc *incident.Incident) error
	OpenHotfixDialog(triggerID string, inc *incident.Incident) error
	OpenRejectDialog(triggerID string, inc *incident.Incident, h *hotfix.Hotfix, group string) error
}

// API is the plugin's HTTP handler.
type API struct {
	App      *app.App
	Dialogs  Dialogs
	Platform Platform
	BotID    string
	// Render turns the domain's <@id> user references into names.
	Render func(string) string
	// Pages serves the read-only pages (package web); nil: none.
	Pages *web.Pages
	// Archives runs the buttons of an incident archive import; nil: none.
	Archives Archives
	// Setup serves /incident setup's dialogs and steps; nil: no setup.
	Setup Setup
	// Calls counts the plugin API calls so far, per method, for the usage
	// route; nil: not counted.
	Calls func() (calls, handlers map[string]Timed)
	Log   zerolog.Logger

	exporting atomic.Bool // an archive download is being exported
}

// Archives runs the Import and Cancel buttons under the bot's preview of an
// incident archive; the post, not the request, says whose import it is.
type Archives interface {
	ArchiveAction(ctx context.Context, actor, postID, action string) (string, error)
	// ExportArchiveFile exports the archive for actor into a temporary
	// file, and returns its path, the name to offer it under and a func
	// that removes it.
	ExportArchiveFile(ctx context.Context, actor string, since time.Time) (path, name string, remove func(), err error)
}

// Handler builds the router.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+wire.ActionsPath+"{name}", a.authed(a.serveAction))
	// More specific than {name}, so the handoff button never reaches the
	// card's handler.
	mux.HandleFunc("POST "+wire.ActionsPath+wire.ActionAckHandoff, a.authed(a.serveAckHandoff))
	mux.HandleFunc("POST "+wire.ActionsPath+wire.ActionAckPage, a.authed(a.serveAckPage))
	for _, name := range []string{wire.ActionHotfixApprove, wire.ActionHotfixReject, wire.ActionHotfixDeployed} {
		mux.HandleFunc("POST "+wire.ActionsPath+name, a.authed(a.serveHotfixAction))
	}
	for _, name := range []string{bot.ActionStepDone, bot.ActionStepSkip, bot.ActionStepUndo} {
		mux.HandleFunc("POST "+wire.ActionsPath+name, a.authed(a.serveStepAction))
	}
	mux.HandleFunc("POST "+wire.ActionsPath+bot.ActionRunbookApply, a.authed(a.serveRunbookApply))
	if a.Archives != nil {
		for _, name := range []string{wire.ActionArchiveImport, wire.ActionArchiveImportShared, wire.ActionArchiveCancel} {
			mux.HandleFunc("POST "+wire.ActionsPath+name, a.authed(a.serveArchiveAction))
		}
		mux.HandleFunc("POST "+web.ArchivePath, a.authed(a.serveArchiveDownload))
		if a.Pages != nil {
			mux.HandleFunc("GET "+web.ArchivePagePath, a.authed(a.Pages.ServeArchive))
			mux.HandleFunc("POST "+web.ArchiveImportPath, a.authed(a.Pages.ServeArchiveImport))
		}
	}
	if a.Setup != nil {
		for _, name := range []string{wire.ActionSetupMembers, wire.ActionSetupTest} {
			mux.HandleFunc("POST "+wire.ActionsPath+name, a.authed(a.serveSetupAction(name)))
		}
	}
	for _, answer := range []string{app.ShiftTake, app.ShiftApprove, app.ShiftDecline, app.ShiftWithdraw} {
		mux.HandleFunc("POST "+wire.ActionsPath+wire.ActionShiftPrefix+answer, a.authed(a.serveShiftAction(answer)))
	}
	mux.HandleFunc("POST "+wire.DialogsPath+"{name}", a.authed(a.serveDialog))
	mux.HandleFunc("GET "+wire.IncidentsAutocompletePath, a.authed(a.serveIncidentList))
	mux.HandleFunc("GET "+UsagePath, a.authed(a.serveUsage))
	mux.HandleFunc("POST "+AlertsPath, a.serveAlerts)        // token-authenticated, not authed: see serveAlerts
	mux.HandleFunc(wire.HeartbeatPath+"{name}", a.serveBeat) // token-authenticated too
	// Signed links from emails and webhooks: no session (see serveAckLink).
	mux.HandleFunc("GET "+wire.AckPath+"{token}", a.serveAckLink)
	mux.HandleFunc("POST "+wire.AckPath+"{token}", a.serveAckLink)
	if a.Pages != nil {
		mux.HandleFunc("GET "+web.IncidentsPath, a.authed(a.Pages.ServeList))
		mux.HandleFunc("GET "+web.IncidentsPath+"/{id}", a.authed(a.Pages.ServeIncident))
		mux.HandleFunc("GET "+web.IncidentsPath+"/{id}/postmortem.md", a.authed(a.Pages.ServePostmortemMD))
		mux.HandleFunc("GET "+web.StatsPath, a.authed(a.Pages.ServeStats))
		mux.HandleFunc("GET "+web.RotaPath, a.authed(a.Pages.ServeRota))
	}
	// Token-authenticated, not authed: calendar apps have no session.
	mux.HandleFunc("GET "+CalendarPath+"{file}", a.servePersonalCalendar)
	mux.HandleFunc("GET "+CalendarTeamPath+"{file}", a.serveTeamCalendar)
	mux.HandleFunc("GET "+SignInPath, a.serveSignIn) // public: see signin.go
	// A page asked for without a session goes to the sign-in page first.
	return SignInGate(mux)
}

type authedHandler func(w http.ResponseWriter, r *http.Request, actor string)

// authed refuses requests the server did not authenticate. The server strips
// any client-sent Mattermost-User-Id and sets it only for a valid session.
func (a *API) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		actor := r.Header.Get("Mattermost-User-Id")
		if actor == "" {
			http.Error(w, "not authenticated", http.StatusUnauthorized)
			return
		}
		h(w, r, actor)
	}
}

func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxBody {
		return incident.Invalidf("request body too large")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return incident.Invalidf("malformed request body")
	}
	return nil
}

// actionRequest decodes a button click. The body's user_id, when present,
// must be the header's user: a mismatch is a forged request. On failure it
// has already answered and returns false.
func actionRequest(w http.ResponseWriter, r *http.Request, actor string) (*model.PostActionIntegrationRequest, bool) {
	var req model.PostActionIntegrationRequest
	if err := decode(r, &req); err != nil {
		http.Error(w, incident.UserMessage(err), http.StatusBadRequest)
		return nil, false
	}
	if req.UserId != "" && req.UserId != actor {
		http.Error(w, "user mismatch", http.StatusForbidden)
		return nil, false
	}
	return &req, true
}

// writeReply answers a button click with msg, shown to the clicker only:
// its user references rendered, and as written. The server's
// Slack-compatibility rewriting is off, as for every reply of the plugin
// (as the command adapter also does): it would turn "<!channel>" in user text
// into "@channel" and "<a|b>" into a link.
func (a *API) writeReply(w http.ResponseWriter, msg string) {
	writeJSON(w, &model.PostActionIntegrationResponse{EphemeralText: a.Render(msg), SkipSlackParsing: true})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// status maps an error kind to an HTTP status, once, for every route.
func status(err error) int {
	switch incident.KindOf(err) {
	case incident.KindInvalid:
		return http.StatusBadRequest
	case incident.KindNotFound:
		return http.StatusNotFound
	case incident.KindForbidden:
		return http.StatusForbidden
	case incident.KindConflict:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (a *API) logInternal(ctx context.Context, err error, what, actor string) {
	if incident.KindOf(err) == incident.KindInternal {
		a.Log.Error().Err(err).Str("route", what).Str("user", actor).Msg("request failed")
	}
}

// autocompleteLimit bounds the incidents offered while someone types: the
// newest, read on every keystroke.
const autocompleteLimit = 25

func (a *API) serveIncidentList(w http.ResponseWriter, r *http.Request, actor string) {
	list, _, err := a.App.ListActive(r.Context(), actor, autocompleteLimit)
	if err != nil {
		a.logInternal(r.Context(), err, "autocomplete", actor)
		http.Error(w, incident.UserMessage(err), status(err))
		return
	}
	items := make([]model.AutocompleteListItem, 0, len(list))
	for _, inc := range list {
		items = append(items, model.AutocompleteListItem{Item: inc.ID, Hint: inc.Severity.String() + " " + inc.Status.Label(), HelpText: inc.Title})
	}
	writeJSON(w, items)
}
