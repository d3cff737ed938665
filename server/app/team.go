package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Team membership. A channel admits only members of its team, so someone
// the incident needs (a role holder, a hotfix's release manager or
// sign-off member) who is outside the incident's team must join the team
// first. The Chat adapter adds them to the team when the server lets it;
// when it does not, AddToChannel returns an *OutsideTeamError and the
// incident manager and the person are told, since retrying cannot mend it.

// OutsideTeamError is returned (wrapped or not) by Chat.AddToChannel when
// the user is not a member of the channel's team and could not be added
// to it.
type OutsideTeamError struct {
	UserID string
	TeamID string
	// Team names the team for people (its display name, else its id).
	Team string
	// Reason says, for people, why the user could not join the team.
	Reason string
}

func (e *OutsideTeamError) Error() string {
	return fmt.Sprintf("user %s is not a member of team %s and could not be added to it: %s", e.UserID, e.Team, e.Reason)
}

// TeamNotices tells people that someone the incident needs could not be
// added to its channel because they are outside its team. The Chat
// adapter implements it beside Chat; the app asks for it with a type
// assertion, so that test fakes of Chat need not.
type TeamNotices interface {
	// TellOutsideTeam tells the incident manager, in the incident channel,
	// and the person, by direct message, each in one line, that the person
	// cannot open the incident channel and what to do. roles are the
	// roles they hold on inc (none for a hotfix's sign-off member).
	TellOutsideTeam(ctx context.Context, inc *incident.Incident, roles []incident.Role, e *OutsideTeamError) error
}

// admit adds user to the incident channel. Someone outside the incident's
// team is added to the team by the adapter; when that is impossible, the
// incident manager and the person are told (once per follow-up step:
// the notices are keyed like every post of a step). Another failure to
// add is logged: retrying cannot mend it, and the role stands. The error
// returned is only a notice that could not be posted, so that a step
// retries it.
func (a *App) admit(ctx context.Context, inc *incident.Incident, user string) error {
	err := a.chat.AddToChannel(ctx, inc.ChannelID, user)
	if err == nil {
		return nil
	}
	var outside *OutsideTeamError
	if !errors.As(err, &outside) {
		a.log.Warn().Err(err).Str("incident", inc.ID).Str("user", user).Msg("add to the incident channel")
		return nil
	}
	a.log.Warn().Err(err).Str("incident", inc.ID).Str("user", user).Msg("cannot add to the incident channel: outside its team")
	tell, ok := a.chat.(TeamNotices)
	if !ok {
		return nil
	}
	if err := tell.TellOutsideTeam(ctx, inc, inc.RoleOf(user), outside); err != nil {
		return fmt.Errorf("tell that %s is outside the team of %s: %w", user, inc.ID, err)
	}
	return nil
}
