package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// serveAction handles a click on a card button or select. The post, not the
// request body, is the authority: it must be the bot's card of the incident
// named in the context, and the actor must be able to see the incident.
func (a *API) serveAction(w http.ResponseWriter, r *http.Request, actor string) {
	req, ok := actionRequest(w, r, actor)
	if !ok {
		return
	}
	ctx := r.Context()
	name := r.PathValue("name")
	inc, post, err := a.postIncident(ctx, actor, req)
	if err == nil {
		err = checkPostFor(name, inc, post)
	}
	if err != nil {
		a.logInternal(ctx, err, "action", actor)
		http.Error(w, a.Render(incident.UserMessage(err)), status(err))
		return
	}
	msg, err := a.act(ctx, name, actor, inc, req)
	if err != nil {
		a.logInternal(ctx, err, "action", actor)
		msg = incident.UserMessage(err)
	}
	a.writeReply(w, msg)
}

// postIncident checks that the clicked post is the bot's and belongs to the
// incident named in the button's context, and returns both.
func (a *API) postIncident(ctx context.Context, actor string, req *model.PostActionIntegrationRequest) (*incident.Incident, *model.Post, error) {
	id, _ := req.Context[wire.ContextIncidentID].(string)
	if id == "" || req.PostId == "" {
		return nil, nil, incident.Invalidf("not an incident button")
	}
	post, appErr := a.Platform.GetPost(req.PostId)
	if appErr != nil {
		return nil, nil, incident.NotFoundf("that post no longer exists")
	}
	if post.UserId != a.BotID || post.GetProp(wire.PropIncidentID) != id {
		return nil, nil, errNotOurs
	}
	inc, err := a.App.Locate(ctx, actor, "", id)
	if err != nil {
		return nil, nil, err
	}
	return inc, post, nil
}

var errNotOurs = incident.Forbiddenf("that button does not belong to an incident post of the bot")

// checkPostFor: card actions act only from the incident's card, a handover
// acceptance only from that handover's own post.
func checkPostFor(action string, inc *incident.Incident, post *model.Post) error {
	if action == wire.ActionRemindUpdate || strings.HasPrefix(action, wire.ActionSnoozePrefix) {
		if post.GetProp(wire.PropReminder) != true {
			return errNotOurs
		}
		return nil
	}
	if code, ok := strings.CutPrefix(action, wire.ActionAcceptPrefix); ok {
		h, pending := inc.Handovers[incident.Role(code)]
		if post.GetProp(wire.PropHandoverRole) != code || (pending && h.PostID != "" && h.PostID != post.Id) {
			return errNotOurs
		}
		return nil
	}
	if inc.CardPostID == post.Id {
		return nil
	}
	// A card pressed the moment it appears may not be linked yet: the
	// bot's card post in the incident's own channel is the card.
	if inc.CardPostID == "" && post.GetProp(wire.PropCard) == true && post.ChannelId == inc.ChannelID {
		return nil
	}
	return errNotOurs
}

func (a *API) act(ctx context.Context, name, actor string, inc *incident.Incident, req *model.PostActionIntegrationRequest) (string, error) {
	switch name {
	case wire.ActionUpdate:
		return "", a.Dialogs.OpenUpdateDialog(req.TriggerId, inc)
	case wire.ActionResolve:
		return "", a.Dialogs.OpenResolveDialog(req.TriggerId, inc)
	case wire.ActionHotfix:
		return "", a.Dialogs.OpenHotfixDialog(req.TriggerId, inc)
	case wire.ActionMitigate:
		_, err := a.App.Mitigate(ctx, actor, inc)
		return fmt.Sprintf("%s marked mitigated.", inc.ShortRef()), err
	case wire.ActionReopen:
		_, err := a.App.Reopen(ctx, actor, inc, "")
		return fmt.Sprintf("%s reopened.", inc.ShortRef()), err
	case wire.ActionSeverity:
		opt, _ := req.Context["selected_option"].(string)
		sev, err := incident.ParseSeverity(opt)
		if err != nil {
			return "", err
		}
		_, err = a.App.ChangeSeverity(ctx, actor, inc, sev)
		return fmt.Sprintf("%s is now %s.", inc.ShortRef(), sev), err
	}
	if name == wire.ActionRemindUpdate {
		return "", a.Dialogs.OpenUpdateDialog(req.TriggerId, inc)
	}
	if mins, ok := strings.CutPrefix(name, wire.ActionSnoozePrefix); ok {
		m, err := strconv.Atoi(mins)
		if err != nil {
			return "", incident.Invalidf("unknown snooze %q", mins)
		}
		d := time.Duration(m) * time.Minute
		if _, err := a.App.SnoozeReminders(ctx, actor, inc, d); err != nil {
			return "", err
		}
		return fmt.Sprintf("Update reminders for %s snoozed for %s.", inc.ShortRef(), incident.FormatDuration(d)), nil
	}
	if code, ok := strings.CutPrefix(name, wire.ActionTakePrefix); ok {
		role, err := incident.ParseRole(code)
		if err != nil {
			return "", err
		}
		_, err = a.App.AssignRole(ctx, actor, inc, role, actor)
		return fmt.Sprintf("You are now %s on %s.", role.Title(), inc.ShortRef()), err
	}
	if code, ok := strings.CutPrefix(name, wire.ActionAcceptPrefix); ok {
		role, err := incident.ParseRole(code)
		if err != nil {
			return "", err
		}
		_, err = a.App.AcceptHandover(ctx, actor, inc, role)
		return fmt.Sprintf("You are now %s on %s.", role.Title(), inc.ShortRef()), err
	}
	return "", incident.Invalidf("unknown action %q", name)
}
