package api

import (
	"context"
	"fmt"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// serveShiftAction answers a shift request's button. The post must be the
// bot's post of the request the button names; the app decides who may.
func (a *API) serveShiftAction(answer string) authedHandler {
	return a.button("shift", func(ctx context.Context, actor string, req *model.PostActionIntegrationRequest) (string, error) {
		rotaName, _ := req.Context[wire.ContextRota].(string)
		id, _ := req.Context[wire.ContextRequest].(string)
		post, appErr := a.Platform.GetPost(req.PostId)
		if appErr != nil || id == "" || post.UserId != a.BotID || post.GetProp(wire.PropShiftRequest) != id {
			return "", errNotOurs
		}
		res, err := a.App.AnswerShift(ctx, actor, rotaName, id, answer)
		if err != nil {
			return "", err
		}
		return shiftReply(res), nil
	})
}

func shiftReply(res *app.ShiftResult) string {
	q := res.Request
	switch res.State {
	case app.ShiftAsked:
		return fmt.Sprintf("Asked: the rota admins approve or decline your taking the %s shift.", q.Role.Title())
	case app.ShiftTaken:
		return fmt.Sprintf("Done: <@%s> holds the %s shift.", q.Taker, q.Role.Title())
	case app.ShiftDeclined:
		return "Declined; the taker is told."
	case app.ShiftWithdrawn:
		return "Withdrawn."
	}
	return ""
}
