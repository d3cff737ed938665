package bot

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// SnoozeMinutes are the snooze periods offered on a reminder, in minutes.
var SnoozeMinutes = []int{15, 30, 60}

// RemindUpdate sends the incident manager a direct message: the status
// update is overdue, with buttons to post one or to snooze.
func (b *Bot) RemindUpdate(ctx context.Context, inc *incident.Incident, to string, overdueBy, cadence time.Duration) error {
	dm, appErr := b.api.GetDirectChannel(b.userID, to)
	if appErr != nil {
		return fmt.Errorf("reminder DM channel: %w", appErr)
	}
	acts := []*model.PostAction{{Id: wire.ActionRemindUpdate, Type: model.PostActionTypeButton, Name: "Post update", Style: "primary",
		Integration: b.integration(wire.ActionRemindUpdate, inc.ID)}}
	for _, m := range SnoozeMinutes {
		id := wire.ActionSnoozePrefix + strconv.Itoa(m)
		acts = append(acts, &model.PostAction{Id: id, Type: model.PostActionTypeButton, Name: "Snooze " + incident.FormatDuration(time.Duration(m)*time.Minute),
			Integration: b.integration(id, inc.ID)})
	}
	p := &model.Post{UserId: b.userID, ChannelId: dm.Id,
		Message: fmt.Sprintf(":alarm_clock: The status update for **Incident %s: %s** (%s) is overdue by %s; stakeholders expect one every %s. Post one now, or snooze. %s",
			inc.ShortRef(), Inline(inc.Title), inc.Severity, incident.FormatDuration(overdueBy), incident.FormatDuration(cadence), b.channelLink(inc))}
	p.AddProp(wire.PropIncidentID, inc.ID)
	p.AddProp(wire.PropReminder, true)
	p.AddProp("attachments", []*model.MessageAttachment{{Actions: acts}})
	if _, appErr := b.create(ctx, p); appErr != nil {
		return fmt.Errorf("post update reminder: %w", appErr)
	}
	return nil
}
