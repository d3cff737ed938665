package api

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/bot"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// RunbookDialogs opens the dialogs of runbook checklists.
type RunbookDialogs interface {
	OpenStepSkipDialog(triggerID string, inc *incident.Incident, it runbook.Item) error
}

// serveStepAction handles the Done, Skip and Undo buttons of a checklist
// post. The post is the authority: it must be the bot's, name the incident
// of the context, and be the checklist post the incident's checklist
// names. The actor (from the header) must be able to read the incident;
// the step number in the context is only the choice the button stands for.
func (a *API) serveStepAction(w http.ResponseWriter, r *http.Request, actor string) {
	req, ok := actionRequest(w, r, actor)
	if !ok {
		return
	}
	ctx := r.Context()
	inc, c, err := a.checklistPost(ctx, actor, req)
	if err != nil {
		a.logInternal(ctx, err, "step", actor)
		http.Error(w, a.Render(incident.UserMessage(err)), status(err))
		return
	}
	step, _ := req.Context[bot.ContextStep].(string)
	n, _ := strconv.Atoi(step)
	var msg string
	switch path.Base(r.URL.Path) {
	case bot.ActionStepDone:
		if _, err = a.App.StepDone(ctx, actor, inc, n); err == nil {
			msg = fmt.Sprintf("Step %d of %s done.", n, inc.ShortRef())
		}
	case bot.ActionStepUndo:
		if _, err = a.App.StepUndo(ctx, actor, inc, n); err == nil {
			msg = fmt.Sprintf("Step %d of %s is open again.", n, inc.ShortRef())
		}
	case bot.ActionStepSkip:
		var it *runbook.Item
		if it, err = c.Item(n); err == nil {
			if it.Status != runbook.StatusOpen {
				err = incident.Conflictf("step %d is %s already", n, it.Status)
			} else if d, ok := a.Dialogs.(RunbookDialogs); ok {
				err = d.OpenStepSkipDialog(req.TriggerId, inc, *it)
			}
		}
	default:
		err = incident.Invalidf("unknown step action")
	}
	if err != nil {
		a.logInternal(ctx, err, "step", actor)
		msg = incident.UserMessage(err)
	}
	a.writeReply(w, msg)
}

func (a *API) checklistPost(ctx context.Context, actor string, req *model.PostActionIntegrationRequest) (*incident.Incident, *runbook.Checklist, error) {
	inc, post, err := a.postIncident(ctx, actor, req)
	if err != nil {
		return nil, nil, err
	}
	if post.GetProp(bot.PropChecklist) == nil {
		return nil, nil, errNotOurs
	}
	_, c, err := a.App.ChecklistPost(ctx, inc.ID, post.Id)
	if err != nil {
		return nil, nil, err
	}
	return inc, c, nil
}

// serveRunbookApply handles "Apply to runbook" on a postmortem's proposed
// runbook change: system and rota admins only (the app checks).
func (a *API) serveRunbookApply(w http.ResponseWriter, r *http.Request, actor string) {
	req, ok := actionRequest(w, r, actor)
	if !ok {
		return
	}
	ctx := r.Context()
	inc, post, err := a.postIncident(ctx, actor, req)
	if err == nil && post.GetProp(bot.PropRunbookProposal) == nil {
		err = errNotOurs
	}
	if err != nil {
		a.logInternal(ctx, err, "runbook apply", actor)
		http.Error(w, a.Render(incident.UserMessage(err)), status(err))
		return
	}
	d, err := a.App.ApplyProposedSteps(ctx, actor, inc)
	msg := ""
	if err != nil {
		a.logInternal(ctx, err, "runbook apply", actor)
		msg = incident.UserMessage(err)
	} else {
		msg = fmt.Sprintf("Runbook `%s` is now version %d, with the steps added during %s.", d.Name, d.Version, inc.ShortRef())
		if rp, ok := a.Dialogs.(RunbookPosts); ok {
			_ = rp.MarkProposalApplied(post.Id, d)
		}
	}
	a.writeReply(w, msg)
}

// RunbookPosts updates the proposal post once applied.
type RunbookPosts interface {
	MarkProposalApplied(postID string, d *runbook.Definition) error
}

// submitStepSkip: state "<incident id>/<step>".
func (a *API) submitStepSkip(ctx context.Context, actor string, req *model.SubmitDialogRequest) (string, string, error) {
	id, step, _ := strings.Cut(req.State, "/")
	n, err := strconv.Atoi(step)
	if err != nil {
		return "", "", incident.Invalidf("bad dialog state")
	}
	inc, err := a.App.Locate(ctx, actor, "", id)
	if err != nil {
		return "", "", err
	}
	if _, err := a.App.StepSkip(ctx, actor, inc, n, str(req.Submission, wire.FieldReason)); err != nil {
		return wire.FieldReason, "", err
	}
	return "", fmt.Sprintf("Step %d of %s skipped.", n, inc.ShortRef()), nil
}

// submitRunbook saves a runbook from its dialog: state is the name.
func (a *API) submitRunbook(ctx context.Context, actor string, req *model.SubmitDialogRequest) (string, string, error) {
	d, err := a.App.SetRunbook(ctx, actor, req.State, str(req.Submission, wire.FieldDescription), str(req.Submission, bot.FieldMarkdown))
	if err != nil {
		if strings.Contains(err.Error(), "description") {
			return wire.FieldDescription, "", err
		}
		return bot.FieldMarkdown, "", err
	}
	return "", fmt.Sprintf("Runbook `%s` saved as version %d (%d steps).", d.Name, d.Version, len(d.Steps)), nil
}
