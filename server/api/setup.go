package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/bot"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// Setup is what /incident setup needs beyond the app: the second dialog,
// the steps sent by direct message, and the plugin's settings. Every
// submission and click checks again that the actor is a system admin (the
// app's setup use cases do).
type Setup interface {
	OpenSetupMembersDialog(triggerID string, s *app.Setup) error
	PostSetupStep(ctx context.Context, userID, text, action, label string, context map[string]any) error
	IsSetupPost(p *model.Post) bool
	// SaveSettings sets keys of the plugin's settings as the System
	// Console does; every node applies them.
	SaveSettings(patch map[string]any) error
	// UseChannel checks that channelID is a team channel and makes the bot
	// a member, so that it can post there when the channel is private.
	UseChannel(channelID string) error
}

func (a *API) submitSetup(ctx context.Context, actor, name string, req *model.SubmitDialogRequest) (string, string, error) {
	if name == wire.DialogSetupMembers {
		return a.submitSetupMembers(ctx, actor, req)
	}
	return a.submitSetupChannels(ctx, actor, req)
}

// submitSetupChannels saves the first dialog: the two channels of the
// settings, the rota channel and the weekly handoff.
func (a *API) submitSetupChannels(ctx context.Context, actor string, req *model.SubmitDialogRequest) (string, string, error) {
	s, err := a.App.SetupOf(ctx, actor, req.State)
	if err != nil {
		return "", "", err
	}
	sub := req.Submission
	spec := s.Custom
	if d := str(sub, wire.FieldHandoffDay); d != wire.SetupKeepHandoff {
		day, ok := weekday(d)
		if !ok {
			return wire.FieldHandoffDay, "", incident.Invalidf("choose the day of the handoff")
		}
		if spec, err = a.App.WeeklyHandoff(day, str(sub, wire.FieldHandoffTime), str(sub, wire.FieldHandoffZone)); err != nil {
			field := wire.FieldHandoffTime
			if strings.Contains(incident.UserMessage(err), "zone") {
				field = wire.FieldHandoffZone
			}
			return field, "", err
		}
	}
	rotaChannel := str(sub, wire.FieldRotaChannel)
	for _, f := range []string{wire.FieldBroadcast, wire.FieldPostmortem, wire.FieldRotaChannel} {
		if id := str(sub, f); id != "" {
			if err := a.Setup.UseChannel(id); err != nil {
				return f, "", incident.Invalidf("%s", err.Error())
			}
		}
	}
	if rotaChannel == "" {
		return wire.FieldRotaChannel, "", incident.Invalidf("choose the channel where the rota is paged")
	}
	if err := a.Setup.SaveSettings(map[string]any{"BroadcastChannelID": str(sub, wire.FieldBroadcast), "PostmortemChannelID": str(sub, wire.FieldPostmortem)}); err != nil {
		return "", "", fmt.Errorf("save the settings: %w", err)
	}
	if err := a.App.SetupRota(ctx, actor, s.Rota, rotaChannel, spec); err != nil {
		return wire.FieldHandoffTime, "", err
	}
	step := fmt.Sprintf("#### Incident bot setup, step 2 of 3\nSaved: broadcast %s, postmortems %s, rota `%s` paged in %s, handoff `%s`.\nNext, pick the rota's people per role.",
		a.channelRef(str(sub, wire.FieldBroadcast)), a.channelRef(str(sub, wire.FieldPostmortem)), s.Rota, a.channelRef(rotaChannel), spec)
	if err := a.Setup.PostSetupStep(ctx, actor, step, wire.ActionSetupMembers, "Pick the rota's people", map[string]any{wire.ContextRota: s.Rota}); err != nil {
		return "", "", err
	}
	return "", "Channels and handoff saved. The next step is in your direct messages with the bot.", nil
}

// submitSetupMembers saves the second dialog: the people per role.
func (a *API) submitSetupMembers(ctx context.Context, actor string, req *model.SubmitDialogRequest) (string, string, error) {
	picks := make(map[incident.Role][]string)
	for _, role := range incident.Roles {
		for n := 1; n <= app.SetupPicks; n++ {
			if u := str(req.Submission, bot.SetupMemberField(role, n)); u != "" {
				picks[role] = append(picks[role], u)
			}
		}
	}
	v, _, err := a.App.SetupMembers(ctx, actor, req.State, picks)
	if err != nil {
		return bot.SetupMemberField(incident.RoleL1, 1), "", err
	}
	_, st, err := a.App.StaffingOf(ctx, v.Name, time.Now())
	if err != nil {
		return "", "", err
	}
	var lines []string
	for _, role := range incident.Roles {
		who := "nobody yet"
		if u := st.Holders[role]; u != "" {
			who = rota.UserRef(u)
		}
		lines = append(lines, fmt.Sprintf("- %s this week: %s", role.Title(), who))
	}
	step := fmt.Sprintf("#### Incident bot setup, step 3 of 3\nRota `%s` is set:\n%s\n\nStart a test incident to see a page arrive: it opens in this team at the lowest severity the rota pages for, pages %s now, and is yours to resolve.",
		v.Name, strings.Join(lines, "\n"), holderOr(st.Holders[incident.RoleL1], "the first line"))
	if err := a.Setup.PostSetupStep(ctx, actor, step, wire.ActionSetupTest, "Start a test incident",
		map[string]any{wire.ContextRota: v.Name, wire.ContextTeam: req.TeamId}); err != nil {
		return "", "", err
	}
	return "", "Rota saved. The last step is in your direct messages with the bot.", nil
}

func holderOr(u, none string) string {
	if u == "" {
		return none
	}
	return rota.UserRef(u)
}

// button serves a button whose answer is a message to the clicker: act's
// text, or its error's.
func (a *API) button(route string, act func(ctx context.Context, actor string, req *model.PostActionIntegrationRequest) (string, error)) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, actor string) {
		req, ok := actionRequest(w, r, actor)
		if !ok {
			return
		}
		ctx := r.Context()
		msg, err := act(ctx, actor, req)
		if err != nil {
			a.logInternal(ctx, err, route, actor)
			msg = incident.UserMessage(err)
		}
		a.writeReply(w, msg)
	}
}

// serveSetupAction runs the buttons of the setup steps: the second dialog,
// and the test incident.
func (a *API) serveSetupAction(name string) authedHandler {
	return a.button("setup", func(ctx context.Context, actor string, req *model.PostActionIntegrationRequest) (string, error) {
		return a.setupAction(ctx, actor, name, req)
	})
}

func (a *API) setupAction(ctx context.Context, actor, name string, req *model.PostActionIntegrationRequest) (string, error) {
	post, appErr := a.Platform.GetPost(req.PostId)
	if appErr != nil || !a.Setup.IsSetupPost(post) {
		return "", errNotOurs
	}
	rotaName, _ := req.Context[wire.ContextRota].(string)
	s, err := a.App.SetupOf(ctx, actor, rotaName)
	if err != nil {
		return "", err
	}
	switch name {
	case wire.ActionSetupMembers:
		return "", a.Setup.OpenSetupMembersDialog(req.TriggerId, s)
	case wire.ActionSetupTest:
		team, _ := req.Context[wire.ContextTeam].(string)
		if team == "" || !a.Platform.HasPermissionToTeam(actor, team, model.PermissionViewTeam) {
			return "", incident.Forbiddenf("start the test incident in a team you belong to: run `/incident setup` there")
		}
		inc, err := a.App.StartSetupTest(ctx, actor, team, s.Rota)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Test incident %s (%s) started in %s; %s is paged in %s. Resolve it with `/incident resolve` in its channel.",
			inc.ShortRef(), inc.Severity, a.channelRef(inc.ChannelID), holderOr(inc.Roles[incident.RoleL1], "nobody (the rota has no first line yet)"), a.channelRef(s.RotaChannel)), nil
	}
	return "", incident.Invalidf("unknown setup step %q", name)
}

// channelRef shows a channel as ~name for messages; "none" for "".
func (a *API) channelRef(id string) string {
	if id == "" {
		return "none"
	}
	if ch, appErr := a.Platform.GetChannel(id); appErr == nil {
		return "~" + ch.Name
	}
	return "a channel"
}

func weekday(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(d.String(), s) {
			return d, true
		}
	}
	return 0, false
}
