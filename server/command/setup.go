package command

import (
	"context"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// runSetup opens the first setup dialog (system admins): the broadcast,
// postmortem and rota channels and the rota's weekly handoff, with the
// server's own pickers. The steps after it arrive by direct message.
func runSetup(ctx context.Context, h *Handler, c Call) (Reply, error) {
	rest, name, err := takeRotaFlag(c.Rest)
	if err != nil {
		return Reply{}, err
	}
	if rest != "" {
		return Reply{}, incident.Invalidf("setup takes no arguments but `--rota <name>`")
	}
	if name == "" {
		name = h.App.TeamRota(ctx, c.TeamID)
	}
	s, err := h.App.SetupOf(ctx, c.UserID, name)
	if err != nil {
		return Reply{}, err
	}
	if err := h.Dialogs.OpenSetupDialog(c.TriggerID, s); err != nil {
		return Reply{}, err
	}
	return Reply{Text: "Setup: fill in the dialog. The next steps arrive in your direct messages with the bot; the System Console and `/incident rota` change the same settings later."}, nil
}
