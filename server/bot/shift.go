package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

var _ app.Shifts = (*Bot)(nil)

// PostShift posts a shift request in its rota channel.
func (b *Bot) PostShift(ctx context.Context, s *app.ShiftPost) (string, error) {
	p, err := b.create(ctx, b.shiftPost(s))
	if err != nil {
		return "", fmt.Errorf("post shift request: %w", err)
	}
	return p.Id, nil
}

// UpdateShift re-renders a shift request's post.
func (b *Bot) UpdateShift(ctx context.Context, s *app.ShiftPost) error {
	p := b.shiftPost(s)
	p.Id = s.Request.PostID
	if _, appErr := b.update(ctx, p); appErr != nil {
		return fmt.Errorf("update shift request %s: %w", s.Request.ID, appErr)
	}
	return nil
}

// Tell sends userID a direct message, its user references rendered.
func (b *Bot) Tell(ctx context.Context, userID, text string) error {
	return b.DirectMessage(ctx, userID, b.Render(text))
}

func (b *Bot) shiftPost(s *app.ShiftPost) *model.Post {
	q := s.Request
	loc := s.Zone
	if loc == nil {
		loc = time.UTC
	}
	when := fmt.Sprintf("%s to %s (%s)", q.From.In(loc).Format("Mon 2006-01-02 15:04"), q.To.In(loc).Format("Mon 2006-01-02 15:04"), loc)
	shift := fmt.Sprintf("**%s** shift in rota `%s`, %s", q.Role.Title(), s.Rota, when)
	var msg string
	var buttons []string
	switch s.State {
	case app.ShiftOffered:
		msg = fmt.Sprintf(":arrows_counterclockwise: %s offers their %s. Another member of the %s rotation can take it.", b.mention(q.For), shift, q.Role.Title())
		buttons = []string{app.ShiftTake, app.ShiftWithdraw}
	case app.ShiftAsked:
		admins := "the rota admins"
		if len(s.Admins) > 0 {
			names := make([]string, len(s.Admins))
			for i, u := range s.Admins {
				names[i] = b.mention(u)
			}
			admins = strings.Join(names, " ")
		}
		msg = fmt.Sprintf(":hourglass_flowing_sand: %s would take %s's %s. Waiting for approval by %s.", b.mention(q.Taker), b.mention(q.For), shift, admins)
		buttons = []string{app.ShiftApprove, app.ShiftDecline, app.ShiftWithdraw}
	case app.ShiftTaken:
		msg = fmt.Sprintf(":white_check_mark: %s takes %s's %s.", b.mention(q.Taker), b.mention(q.For), shift)
		if s.By != "" && s.By != q.Taker {
			msg += " Approved by " + b.mention(s.By) + "."
		}
	case app.ShiftDeclined:
		msg = fmt.Sprintf(":no_entry: %s declined %s taking %s's %s.", b.mention(s.By), b.mention(q.Taker), b.mention(q.For), shift)
	case app.ShiftWithdrawn:
		msg = fmt.Sprintf(":leftwards_arrow_with_hook: Withdrawn by %s: the request for %s's %s.", b.mention(s.By), b.mention(q.For), shift)
	}
	p := &model.Post{UserId: b.userID, ChannelId: s.ChannelID, Message: msg}
	p.AddProp(wire.PropShiftRequest, q.ID)
	if len(buttons) > 0 {
		actions := make([]*model.PostAction, 0, len(buttons))
		for _, answer := range buttons {
			style := "default"
			if answer == app.ShiftTake || answer == app.ShiftApprove {
				style = "primary"
			}
			actions = append(actions, &model.PostAction{
				Id: wire.ActionShiftPrefix + answer, Type: model.PostActionTypeButton, Name: shiftLabels[answer], Style: style,
				Integration: &model.PostActionIntegration{
					URL:     "/plugins/" + b.pluginID + wire.ActionsPath + wire.ActionShiftPrefix + answer,
					Context: map[string]any{wire.ContextRota: s.Rota, wire.ContextRequest: q.ID},
				},
			})
		}
		p.AddProp("attachments", []*model.MessageAttachment{{Actions: actions}})
	}
	return p
}

var shiftLabels = map[string]string{
	app.ShiftTake: "Take this shift", app.ShiftApprove: "Approve", app.ShiftDecline: "Decline", app.ShiftWithdraw: "Withdraw",
}
