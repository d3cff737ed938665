package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// The setup dialogs use the server's own pickers (data_source channels and
// users), so an admin never pastes an id. The steps after a dialog arrive
// by direct message, each with the button that opens the next.

// setupWeeks names the weeks of a role's picks.
var setupWeeks = [app.SetupPicks]string{"this week", "the week after", "the third week"}

// SetupMemberField names the dialog field of a role's n-th pick (1-based).
func SetupMemberField(role incident.Role, n int) string { return fmt.Sprintf("%s_%d", role, n) }

// OpenSetupDialog opens the first setup dialog: the channels and the
// rota's weekly handoff.
func (b *Bot) OpenSetupDialog(triggerID string, s *app.Setup) error {
	days := make([]*model.PostActionOptions, 0, 8)
	for i := range 7 {
		d := time.Weekday((i + 1) % 7) // Monday first
		days = append(days, &model.PostActionOptions{Text: d.String(), Value: d.String()})
	}
	day := s.Day.String()
	if s.Custom != "" {
		days = append([]*model.PostActionOptions{{Text: "Keep " + s.Custom, Value: wire.SetupKeepHandoff}}, days...)
		day = wire.SetupKeepHandoff
	}
	return b.openDialog(triggerID, wire.DialogSetupChannels, s.Rota, model.Dialog{
		Title:            "Set up the incident bot (1 of 2)",
		IntroductionText: fmt.Sprintf("Where incidents are announced, where postmortems go, and where rota `%s` is paged and handed off each week. The next step picks the rota's people.", s.Rota),
		SubmitLabel:      "Save and continue",
		Elements: []model.DialogElement{
			{DisplayName: "Broadcast channel", Name: wire.FieldBroadcast, Type: "select", DataSource: "channels", Optional: true, Default: s.Broadcast,
				HelpText: "Every incident's start, status updates and resolution are announced here."},
			{DisplayName: "Postmortem channel", Name: wire.FieldPostmortem, Type: "select", DataSource: "channels", Optional: true, Default: s.Postmortem,
				HelpText: "Every postmortem is also posted here."},
			{DisplayName: "Rota channel", Name: wire.FieldRotaChannel, Type: "select", DataSource: "channels", Default: s.RotaChannel,
				HelpText: "Pages and the weekly handoff are posted here (the paged also get a direct message)."},
			{DisplayName: "Handoff day", Name: wire.FieldHandoffDay, Type: "select", Options: days, Default: day},
			{DisplayName: "Handoff time", Name: wire.FieldHandoffTime, Type: "text", Default: s.Clock, Placeholder: "09:00", MaxLength: 5,
				HelpText: "When the week's people change, 24-hour clock."},
			{DisplayName: "Time zone", Name: wire.FieldHandoffZone, Type: "text", Default: s.Zone, Placeholder: "Europe/Berlin", MaxLength: 64,
				HelpText: "The rota's zone, as in Europe/Berlin or America/New_York."},
		},
	})
}

// OpenSetupMembersDialog opens the second setup dialog: up to
// app.SetupPicks people per role, in rotation order.
func (b *Bot) OpenSetupMembersDialog(triggerID string, s *app.Setup) error {
	var now []string
	var els []model.DialogElement
	for _, role := range incident.Roles {
		names := make([]string, 0, len(s.Members[role]))
		for _, u := range s.Members[role] {
			names = append(names, b.mention(u))
		}
		if len(names) > 0 {
			now = append(now, role.Title()+": "+strings.Join(names, " "))
		}
		for n := 1; n <= app.SetupPicks; n++ {
			el := model.DialogElement{DisplayName: fmt.Sprintf("%s: %s", role.Title(), setupWeeks[n-1]), Name: SetupMemberField(role, n),
				Type: "select", DataSource: "users", Optional: true}
			if n == 1 {
				el.HelpText = "One person per week, in this order, round and round."
			}
			els = append(els, el)
		}
	}
	intro := fmt.Sprintf("Who is on rota `%s`, per role, in the order the weeks go round. One person holds one role per incident: "+
		"when the rota would give someone two, the next member stands in. A role left empty keeps its members. "+
		"More than %d per role: `/incident rota add <role> @user`.", s.Rota, app.SetupPicks)
	if len(now) > 0 {
		intro += "\n\nNow: " + strings.Join(now, "; ") + "."
	}
	return b.openDialog(triggerID, wire.DialogSetupMembers, s.Rota, model.Dialog{
		Title:            "Set up the incident bot (2 of 2)",
		IntroductionText: Sanitize(intro),
		SubmitLabel:      "Save",
		Elements:         els,
	})
}

// PostSetupStep sends userID a step of the setup by direct message: text
// (<@id> references rendered) and one button, unless label is "".
func (b *Bot) PostSetupStep(ctx context.Context, userID, text, action, label string, context map[string]any) error {
	ch, appErr := b.api.GetDirectChannel(b.userID, userID)
	if appErr != nil {
		return fmt.Errorf("direct channel with %s: %w", userID, appErr)
	}
	p := &model.Post{UserId: b.userID, ChannelId: ch.Id, Message: rota.RenderUsers(text, b.mention)}
	if label != "" {
		p.AddProp("attachments", []*model.MessageAttachment{{Actions: []*model.PostAction{{
			Id: action, Type: model.PostActionTypeButton, Name: label, Style: "primary",
			Integration: &model.PostActionIntegration{URL: "/plugins/" + b.pluginID + wire.ActionsPath + action, Context: context},
		}}}})
	}
	p.AddProp(propSetup, true)
	if _, err := b.create(ctx, p); err != nil {
		return fmt.Errorf("setup step to %s: %w", userID, err)
	}
	return nil
}

// propSetup marks the bot's setup posts: their buttons act only there.
const propSetup = "incident_setup"

// IsSetupPost reports whether p is a setup step the bot sent.
func (b *Bot) IsSetupPost(p *model.Post) bool {
	return p != nil && p.UserId == b.userID && p.GetProp(propSetup) == true
}
