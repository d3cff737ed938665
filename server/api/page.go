package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
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
	id, _ := req.Context[wire.ContextPageID].(string)
	if id == "" || req.PostId == "" {
		http.Error(w, "not a page button", http.StatusBadRequest)
		return
	}
	var notOfPage error // the click's own refusal, from pagePost
	p, err := a.App.AcknowledgePageFrom(ctx, actor, id, func(p *app.Page) error {
		notOfPage = a.pagePost(p, req)
		return notOfPage
	})
	var msg string
	switch {
	case err != nil && (err == notOfPage || incident.KindOf(err) == incident.KindNotFound || incident.KindOf(err) == incident.KindInvalid):
		// Not a button of a page that exists: the click itself is refused.
		a.logInternal(ctx, err, "ackpage", actor)
		http.Error(w, incident.UserMessage(err), status(err))
		return
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

// pagePost checks that the clicked post is one of the bot's posts of page
// p, the page named in the button's context.
func (a *API) pagePost(p *app.Page, req *model.PostActionIntegrationRequest) error {
	// A post the page records is one the bot made for it: the server
	// took the button, and its context, from that post. That saves a
	// read of the post on the way of every acknowledgement.
	if p.HasPost(req.PostId) {
		return nil
	}
	// A post of a send in flight is recorded when its send completes; the
	// acknowledgement lands at once all the same, once the post is seen to
	// be the bot's post of this page.
	if p.Sending == nil {
		return errNotAPage
	}
	post, appErr := a.Platform.GetPost(req.PostId)
	if appErr != nil {
		return incident.NotFoundf("that post no longer exists")
	}
	if post.UserId != a.BotID || post.GetProp(wire.PropPageID) != p.ID {
		return errNotAPage
	}
	return nil
}

var errNotAPage = incident.Forbiddenf("that button does not belong to a page of the bot")
