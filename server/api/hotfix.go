package api

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// serveHotfixAction handles the buttons of a hotfix sign-off post. The
// post is the authority for which incident and hotfix are meant: it must be
// the bot's, name the incident and hotfix of the context, and be that
// hotfix's sign-off post. The group and stage in the context are only the
// choice the button stands for; the app checks that the actor (from the
// header) may sign for that group.
func (a *API) serveHotfixAction(w http.ResponseWriter, r *http.Request, actor string) {
	req, ok := actionRequest(w, r, actor)
	if !ok {
		return
	}
	ctx := r.Context()
	inc, h, err := a.hotfixPost(ctx, actor, req)
	if err != nil {
		a.logInternal(ctx, err, "hotfix", actor)
		http.Error(w, a.Render(incident.UserMessage(err)), status(err))
		return
	}
	group, _ := req.Context[wire.ContextGroup].(string)
	stage, _ := req.Context[wire.ContextStage].(string)
	var msg string
	switch path.Base(r.URL.Path) {
	case wire.ActionHotfixApprove:
		msg, err = a.approve(ctx, actor, inc, h, group, stage)
	case wire.ActionHotfixReject:
		err = a.rejectDialog(ctx, actor, req.TriggerId, inc, h, group, stage)
	case wire.ActionHotfixDeployed:
		if _, err = a.App.MarkDeployed(ctx, actor, inc, h.N); err == nil {
			msg = fmt.Sprintf("Hotfix %d marked deployed; the groups now sign it off after deploy.", h.N)
		}
	default:
		err = incident.Invalidf("unknown hotfix action")
	}
	if err != nil {
		a.logInternal(ctx, err, "hotfix", actor)
		msg = incident.UserMessage(err)
	}
	a.writeReply(w, msg)
}

func (a *API) approve(ctx context.Context, actor string, inc *incident.Incident, h *hotfix.Hotfix, group, stage string) (string, error) {
	st, err := hotfix.ParseStage(stage)
	if err != nil {
		return "", err
	}
	out, err := a.App.SignHotfix(ctx, inc, app.SignRequest{Actor: actor, N: h.N, Stage: st, Group: group, Approve: true})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("You approved %s of hotfix %d for %s. It is now %s.", strings.ToLower(st.Title()), h.N, group, out.Status.Label()), nil
}

// rejectDialog asks for the reason of a rejection. Membership is checked
// first, so that nobody types a reason only to be refused; the submission
// is checked again.
func (a *API) rejectDialog(ctx context.Context, actor, triggerID string, inc *incident.Incident, h *hotfix.Hotfix, group, stage string) error {
	st, err := hotfix.ParseStage(stage)
	if err != nil {
		return err
	}
	if err := h.AtStage(st); err != nil {
		return err
	}
	groups, err := a.App.SignoffGroups(ctx)
	if err != nil {
		return err
	}
	if err := h.MaySign(actor, group, groups); err != nil {
		return err
	}
	return a.Dialogs.OpenRejectDialog(triggerID, inc, h, group)
}

// hotfixPost checks the clicked post and returns its incident and hotfix.
func (a *API) hotfixPost(ctx context.Context, actor string, req *model.PostActionIntegrationRequest) (*incident.Incident, *hotfix.Hotfix, error) {
	inc, post, err := a.postIncident(ctx, actor, req)
	if err != nil {
		return nil, nil, err
	}
	n, _ := req.Context[wire.ContextHotfix].(string)
	if n == "" || post.GetProp(wire.PropHotfix) != n {
		return nil, nil, errNotOurs
	}
	num, err := strconv.Atoi(n)
	if err != nil || num < 1 {
		return nil, nil, errNotOurs
	}
	b, err := a.App.Hotfixes(ctx, inc)
	if err != nil {
		return nil, nil, err
	}
	h, err := b.Get(num)
	if err != nil {
		return nil, nil, err
	}
	// A sign-off post pressed the moment it appears may not be linked yet
	// (as the card): the bot's post of this hotfix in the incident's own
	// channel is the sign-off post.
	if h.PostID != post.Id && (h.PostID != "" || post.ChannelId != inc.ChannelID) {
		return nil, nil, errNotOurs
	}
	return inc, h, nil
}

// submitReject records a rejection typed into the dialog. The state names
// the incident, hotfix, stage and group the button stood for; access and
// membership are checked again, and a hotfix that moved on meanwhile is
// not rejected at its next stage.
func (a *API) submitReject(ctx context.Context, actor string, req *model.SubmitDialogRequest) (string, string, error) {
	parts := strings.Split(req.State, "/")
	if len(parts) != 4 {
		return "", "", incident.Invalidf("malformed dialog")
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return "", "", incident.Invalidf("malformed dialog")
	}
	st, err := hotfix.ParseStage(parts[2])
	if err != nil {
		return "", "", err
	}
	inc, err := a.App.Locate(ctx, actor, "", parts[0])
	if err != nil {
		return "", "", err
	}
	if _, err := a.App.SignHotfix(ctx, inc, app.SignRequest{Actor: actor, N: n, Stage: st, Group: parts[3],
		Reason: str(req.Submission, wire.FieldReason)}); err != nil {
		return wire.FieldReason, "", err
	}
	return "", fmt.Sprintf("You rejected %s of hotfix %d on %s for %s.", strings.ToLower(st.Title()), n, inc.ShortRef(), parts[3]), nil
}

// submitHotfix opens the hotfix request typed into the card's dialog. The
// author is a user the requester picked: it names who made the fix, it
// grants nobody anything.
func (a *API) submitHotfix(ctx context.Context, actor string, req *model.SubmitDialogRequest) (string, string, error) {
	inc, err := a.App.Locate(ctx, actor, "", req.State)
	if err != nil {
		return "", "", err
	}
	h, err := a.App.RequestHotfix(ctx, inc, app.HotfixRequest{Actor: actor,
		Description: str(req.Submission, wire.FieldDescription), Author: str(req.Submission, wire.FieldAuthor)})
	switch {
	case incident.KindOf(err) == incident.KindForbidden:
		return wire.FieldAuthor, "", err
	case err != nil:
		return wire.FieldDescription, "", err
	}
	return "", fmt.Sprintf("Hotfix %d requested on %s; the release manager is paged.", h.N, inc.ShortRef()), nil
}
