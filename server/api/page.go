package api

import (
	"context"
	"errors"
	"fmt"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// serveAckPage handles the Acknowledge button of a page, in the page
// channel or in the direct message. The post is the authority, not the
// request body: it must be one of the bot's posts of the page named in the
// context. The app decides whether the actor (from the header) may
// acknowledge; the posts are re-rendered by the app, so the answer is only
// an ephemeral line.
func (a *API) serveAckPage(w http.ResponseWriter, r *http.Request, actor string) {
	req, ok := actionRequest(w, r, actor)
	if !ok {
		return
	}
	ctx := r.Context()
	id, err := a.pagePost(ctx, req)
	if err != nil {
		a.logInternal(ctx, err, "ackpage", actor)
		http.Error(w, incident.UserMessage(err), status(err))
		return
	}
	p, err := a.App.AcknowledgePage(ctx, actor, id)
	var msg string
	switch {
	case err == nil:
		msg = fmt.Sprintf("Thanks, acknowledged: nobody else will be paged for incident #%s on this page.", p.IncidentID)
	case errors.Is(err, app.ErrPageAlreadyAcknowledged):
		msg = fmt.Sprintf("This page was already acknowledged by <@%s> at %s.", p.AckedBy, p.AckedAt.UTC().Format(wire.TimeLayout))
	default:
		a.logInternal(ctx, err, "ackpage", actor)
		msg = incident.UserMessage(err)
	}
	a.writeReply(w, msg)
}

// pagePost checks that the clicked post is one of the bot's posts of the
// page named in the button's context, and returns the page's id.
func (a *API) pagePost(ctx context.Context, req *model.PostActionIntegrationRequest) (string, error) {
	id, _ := req.Context[wire.ContextPageID].(string)
	if id == "" || req.PostId == "" {
		return "", incident.Invalidf("not a page button")
	}
	post, appErr := a.Platform.GetPost(req.PostId)
	if appErr != nil {
		return "", incident.NotFoundf("that post no longer exists")
	}
	if post.UserId != a.BotID || post.GetProp(wire.PropPageID) != id {
		return "", errNotAPage
	}
	p, err := a.App.PageRecord(ctx, id)
	if err != nil {
		return "", err
	}
	// A post of a send in flight is recorded when its send completes; the
	// acknowledgement lands at once all the same.
	if !p.HasPost(post.Id) && p.Sending == nil {
		return "", errNotAPage
	}
	return id, nil
}

var errNotAPage = incident.Forbiddenf("that button does not belong to a page of the bot")
