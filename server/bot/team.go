package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

var _ app.TeamNotices = (*Bot)(nil)

// addToChannel makes userID a member of channelID. A channel admits only
// members of its team: when adding fails and userID is not in the
// channel's team, they are added to the team (the plugin API does so for
// open and invite-only teams alike; it refuses only what the server
// forbids everyone, such as an email domain the team does not allow, or a
// full team) and then to the channel. When the team refuses them it
// returns an *app.OutsideTeamError.
func (b *Bot) addToChannel(ctx context.Context, channelID, userID string) error {
	leave, err := b.slow.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	_, appErr := b.api.AddChannelMember(channelID, userID)
	if appErr == nil || appErr.StatusCode == http.StatusConflict {
		return nil
	}
	failed := fmt.Errorf("add user %s to channel %s: %w", userID, channelID, appErr)
	ch, chErr := b.api.GetChannel(channelID)
	if chErr != nil || ch.TeamId == "" {
		return failed // not a team's channel, or unreadable: nothing to join
	}
	if tm, tmErr := b.api.GetTeamMember(ch.TeamId, userID); tmErr == nil && tm != nil && tm.DeleteAt == 0 {
		return failed // in the team already: something else is wrong
	}
	if _, joinErr := b.api.CreateTeamMember(ch.TeamId, userID); joinErr != nil {
		team := ch.TeamId
		if t, tErr := b.api.GetTeam(ch.TeamId); tErr == nil && t != nil && t.DisplayName != "" {
			team = t.DisplayName
		}
		return &app.OutsideTeamError{UserID: userID, TeamID: ch.TeamId, Team: team, Reason: teamRefusal(joinErr)}
	}
	b.api.LogInfo("added a user to the team of an incident channel, to let them join it", "user", userID, "team", ch.TeamId, "channel", channelID)
	if _, appErr := b.api.AddChannelMember(channelID, userID); appErr != nil && appErr.StatusCode != http.StatusConflict {
		return fmt.Errorf("add user %s to channel %s after adding them to team %s: %w", userID, channelID, ch.TeamId, appErr)
	}
	return nil
}

// teamRefusal says, for people, why the server would not add someone to a
// team. Errors that come over the plugin RPC carry the message's id rather
// than its translation, so the known ones are spelt out here.
func teamRefusal(err *model.AppError) string {
	id := err.Id
	if id == "" {
		id = err.Message
	}
	switch {
	case strings.Contains(id, "allowed_domains"):
		return "the team accepts only certain email domains"
	case strings.Contains(id, "max_accounts"):
		return "the team is full"
	case strings.Contains(id, "deactivated") || strings.Contains(id, "inactive"):
		return "the account is deactivated"
	case err.StatusCode == http.StatusNotFound:
		return "the account or the team no longer exists"
	}
	return "the server refused: " + id
}

// TellOutsideTeam tells the incident manager in the incident channel, and
// the person by direct message, that the person cannot open the incident
// channel because they are outside its team, and what to do. Both posts
// are tried; the failures are returned together.
func (b *Bot) TellOutsideTeam(ctx context.Context, inc *incident.Incident, roles []incident.Role, e *app.OutsideTeamError) error {
	n := b.pageNames(nil)
	held := "needed on this incident"
	you := "needed on incident"
	if len(roles) > 0 {
		titles := make([]string, len(roles))
		for i, r := range roles {
			titles[i] = r.Title()
		}
		held = "**" + strings.Join(titles, ", ") + "**"
		you = held + " on incident"
	}
	// The incident manager, else the starter, is asked to act; the person
	// is named quietly, as they cannot read the channel anyway.
	lead := inc.Roles[incident.RoleIM]
	if lead == "" || lead == e.UserID {
		lead = inc.CreatedBy
	}
	ask := "Incident manager"
	if lead != "" && lead != e.UserID && !b.isBot(lead) {
		ask = n.mention(lead)
	}
	props := model.StringInterface{wire.PropIncidentID: inc.ID}
	var errs []error
	msg := fmt.Sprintf(":warning: %s (%s) cannot open this channel: they are not in team **%s**, and the bot could not add them (%s). %s: ask a team or system admin to add them to the team, then `/invite %s` here.",
		n.quiet(e.UserID), held, Inline(e.Team), e.Reason, ask, n.mention(e.UserID))
	if _, err := b.post(ctx, inc.ChannelID, Sanitize(msg), props); err != nil {
		errs = append(errs, fmt.Errorf("tell the incident channel of %s: %w", inc.ID, err))
	}
	dm, appErr := b.api.GetDirectChannel(b.userID, e.UserID)
	if appErr != nil {
		errs = append(errs, fmt.Errorf("direct channel with %s: %w", e.UserID, appErr))
		return errors.Join(errs...)
	}
	dmMsg := fmt.Sprintf(":warning: You are %s %s **%s**, but you are not in its team **%s** and the bot could not add you (%s), so you cannot open its channel: ask a team or system admin to add you to **%s**.",
		you, inc.ShortRef(), Inline(inc.Title), Inline(e.Team), e.Reason, Inline(e.Team))
	if _, err := b.post(ctx, dm.Id, Sanitize(dmMsg), props); err != nil {
		errs = append(errs, fmt.Errorf("tell %s of %s by direct message: %w", e.UserID, inc.ID, err))
	}
	return errors.Join(errs...)
}
