package archiveflow

import (
	"context"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/archive"
)

// archiveNames names users, channels and teams for the incident archive
// through the server, and finds them again by name on import.
type archiveNames struct {
	api plugin.API
	// teams remembers team names for a minute: an export names a team for
	// each of its channels, mostly the same few teams.
	mu    sync.Mutex
	teams map[string]cachedTeam
}

type cachedTeam struct {
	team archive.Team
	at   time.Time
}

// teamTTL bounds how long a team's name is remembered.
const teamTTL = time.Minute

// Names names users, channels and teams for the incident archive through
// api (see app.Names).
func Names(api plugin.API) app.Names {
	return &archiveNames{api: api, teams: map[string]cachedTeam{}}
}

func (n *archiveNames) DescribeUser(_ context.Context, id string) (archive.User, bool) {
	u, appErr := n.api.GetUser(id)
	if appErr != nil {
		return archive.User{}, false
	}
	return archive.User{Username: u.Username, DisplayName: u.GetDisplayName("full_name"), Bot: u.IsBot}, true
}

func (n *archiveNames) DescribeChannel(ctx context.Context, id string) (archive.Channel, bool) {
	ch, appErr := n.api.GetChannel(id)
	if appErr != nil || ch.TeamId == "" { // direct and group messages belong to no team
		return archive.Channel{}, false
	}
	t, ok := n.DescribeTeam(ctx, ch.TeamId)
	if !ok {
		return archive.Channel{}, false
	}
	return archive.Channel{Team: t.Name, Name: ch.Name, DisplayName: ch.DisplayName}, true
}

func (n *archiveNames) DescribeTeam(_ context.Context, id string) (archive.Team, bool) {
	n.mu.Lock()
	c, ok := n.teams[id]
	n.mu.Unlock()
	if ok && time.Since(c.at) < teamTTL {
		return c.team, true
	}
	t, appErr := n.api.GetTeam(id)
	if appErr != nil {
		return archive.Team{}, false
	}
	team := archive.Team{Name: t.Name, DisplayName: t.DisplayName}
	n.mu.Lock()
	n.teams[id] = cachedTeam{team, time.Now()}
	n.mu.Unlock()
	return team, true
}

func (n *archiveNames) FindUser(_ context.Context, username string) (string, bool) {
	u, appErr := n.api.GetUserByUsername(username)
	if appErr != nil {
		return "", false
	}
	return u.Id, true
}

func (n *archiveNames) FindChannel(_ context.Context, team, name string) (string, bool) {
	ch, appErr := n.api.GetChannelByNameForTeamName(team, name, true) // archived channels too
	if appErr != nil {
		return "", false
	}
	return ch.Id, true
}

func (n *archiveNames) FindTeam(_ context.Context, name string) (string, bool) {
	t, appErr := n.api.GetTeamByName(name)
	if appErr != nil {
		return "", false
	}
	return t.Id, true
}
