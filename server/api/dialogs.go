package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/bot"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// serveDialog handles a dialog submission. state names an incident at most;
// it carries no authority, the actor's access is checked again.
func (a *API) serveDialog(w http.ResponseWriter, r *http.Request, actor string) {
	var req model.SubmitDialogRequest
	if err := decode(r, &req); err != nil {
		http.Error(w, incident.UserMessage(err), http.StatusBadRequest)
		return
	}
	if req.Cancelled {
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx := r.Context()
	var (
		field, done string
		err         error
	)
	switch r.PathValue("name") {
	case wire.DialogStart:
		field, done, err = a.submitStart(ctx, actor, &req)
	case wire.DialogUpdate:
		field, done, err = a.submitUpdate(ctx, actor, &req)
	case wire.DialogResolve:
		field, done, err = a.submitResolve(ctx, actor, &req)
	case wire.DialogHotfix:
		field, done, err = a.submitHotfix(ctx, actor, &req)
	case wire.DialogHotfixReject:
		field, done, err = a.submitReject(ctx, actor, &req)
	case bot.DialogStepSkip:
		field, done, err = a.submitStepSkip(ctx, actor, &req)
	case bot.DialogRunbook:
		field, done, err = a.submitRunbook(ctx, actor, &req)
	case wire.DialogSetupChannels, wire.DialogSetupMembers:
		if a.Setup == nil {
			http.Error(w, "unknown dialog", http.StatusNotFound)
			return
		}
		field, done, err = a.submitSetup(ctx, actor, r.PathValue("name"), &req)
	default:
		http.Error(w, "unknown dialog", http.StatusNotFound)
		return
	}
	if err != nil {
		a.logInternal(ctx, err, "dialog", actor)
		resp := &model.SubmitDialogResponse{Error: incident.UserMessage(err)}
		if field != "" && incident.KindOf(err) == incident.KindInvalid {
			resp = &model.SubmitDialogResponse{Errors: map[string]string{field: incident.UserMessage(err)}}
		}
		writeJSON(w, resp)
		return
	}
	if done != "" && req.ChannelId != "" {
		a.Platform.SendEphemeralPost(actor, &model.Post{UserId: a.BotID, ChannelId: req.ChannelId, Message: done})
	}
	w.WriteHeader(http.StatusOK)
}

func str(sub map[string]any, key string) string {
	s, _ := sub[key].(string)
	return s
}

// submitStart returns the dialog field an invalid input belongs to, the
// confirmation text, and the error.
func (a *API) submitStart(ctx context.Context, actor string, req *model.SubmitDialogRequest) (string, string, error) {
	if req.TeamId == "" || !a.Platform.HasPermissionToTeam(actor, req.TeamId, model.PermissionViewTeam) {
		return "", "", incident.Forbiddenf("start the incident from a channel of a team you belong to")
	}
	title, err := incident.CleanTitle(str(req.Submission, bot.FieldTitle))
	if err != nil {
		return bot.FieldTitle, "", err
	}
	sev, err := incident.ParseSeverity(str(req.Submission, bot.FieldSeverity))
	if err != nil {
		return bot.FieldSeverity, "", err
	}
	inc, err := a.App.Start(ctx, app.StartRequest{TeamID: req.TeamId, ActorID: actor, Title: title,
		Summary: str(req.Submission, bot.FieldSummary), Severity: sev, Runbook: str(req.Submission, bot.FieldRunbook),
		Rota: str(req.Submission, bot.FieldRota), ChannelID: req.ChannelId})
	if err != nil {
		return bot.FieldSummary, "", err
	}
	return "", fmt.Sprintf("Incident %s started: %s.", inc.ShortRef(), bot.Inline(inc.Title)), nil
}

func (a *API) submitUpdate(ctx context.Context, actor string, req *model.SubmitDialogRequest) (string, string, error) {
	inc, err := a.App.Locate(ctx, actor, "", req.State)
	if err != nil {
		return "", "", err
	}
	if _, err := a.App.PostUpdate(ctx, actor, inc, str(req.Submission, bot.FieldText)); err != nil {
		return bot.FieldText, "", err
	}
	return "", fmt.Sprintf("Status update posted on %s.", inc.ShortRef()), nil
}

func (a *API) submitResolve(ctx context.Context, actor string, req *model.SubmitDialogRequest) (string, string, error) {
	inc, err := a.App.Locate(ctx, actor, "", req.State)
	if err != nil {
		return "", "", err
	}
	if _, err := a.App.Resolve(ctx, actor, inc, str(req.Submission, bot.FieldSummary)); err != nil {
		return bot.FieldSummary, "", err
	}
	return "", fmt.Sprintf("%s resolved.", inc.ShortRef()), nil
}
