package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/bot"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// serveAckHandoff handles the Acknowledge button of a rota handoff post.
// As with the card, the post is the authority, not the request body: it
// must be the bot's announcement of the handoff named in the context. The
// app decides whether the actor (from the header) may acknowledge.
func (a *API) serveAckHandoff(w http.ResponseWriter, r *http.Request, actor string) {
	req, ok := actionRequest(w, r, actor)
	if !ok {
		return
	}
	ctx := r.Context()
	key, err := a.handoffPost(ctx, req)
	if err != nil {
		a.logInternal(ctx, err, "ackhandoff", actor)
		http.Error(w, incident.UserMessage(err), status(err))
		return
	}
	h, err := a.App.AcknowledgeHandoff(ctx, actor, key)
	var msg string
	switch {
	case err == nil:
		msg = fmt.Sprintf("Thanks, acknowledged: you are on duty as %s from %s.", roleTitles(h.RolesOf(actor)), bot.HandoffWeek(h))
	case errors.Is(err, app.ErrAlreadyAcknowledged):
		msg = fmt.Sprintf("You already acknowledged this handoff at %s.", h.Acks[actor].In(h.Location()).Format("Mon 15:04 MST"))
	default:
		a.logInternal(ctx, err, "ackhandoff", actor)
		msg = incident.UserMessage(err)
	}
	a.writeReply(w, msg)
}

// handoffPost checks that the clicked post is the bot's announcement of the
// handoff named in the button's context, and returns the handoff's key.
func (a *API) handoffPost(ctx context.Context, req *model.PostActionIntegrationRequest) (string, error) {
	key, _ := req.Context[wire.ContextHandoffKey].(string)
	if key == "" || req.PostId == "" {
		return "", incident.Invalidf("not a rota handoff button")
	}
	post, appErr := a.Platform.GetPost(req.PostId)
	if appErr != nil {
		return "", incident.NotFoundf("that post no longer exists")
	}
	if post.UserId != a.BotID || post.GetProp(wire.PropHandoffKey) != key {
		return "", incident.Forbiddenf("that button does not belong to a rota handoff announcement")
	}
	h, err := a.App.Handoff(ctx, key)
	if err != nil {
		return "", err
	}
	if h.PostID != post.Id {
		return "", incident.Forbiddenf("that button does not belong to a rota handoff announcement")
	}
	return key, nil
}

// roleTitles joins role titles: "Incident manager and Release manager".
func roleTitles(roles []incident.Role) string {
	titles := make([]string, len(roles))
	for i, r := range roles {
		titles[i] = r.Title()
	}
	if len(titles) <= 1 {
		return strings.Join(titles, "")
	}
	return strings.Join(titles[:len(titles)-1], ", ") + " and " + titles[len(titles)-1]
}
