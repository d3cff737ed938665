package bot

import (
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// Channels and teams are looked up on hot paths (a command's answer links
// the incident channel; every broadcast names it), and they rarely change:
// the bot remembers them for a short while. A rename shows after at most
// namesFresh.
const (
	namesFresh = time.Minute
	namesMax   = 20000
)

type cachedName struct {
	name, teamID string
	at           time.Time
}

// nameCache remembers channel names (with their team), team names,
// usernames and the bot's direct channels.
type nameCache struct {
	mu       sync.Mutex
	channels map[string]cachedName
	teams    map[string]cachedName
	users    map[string]cachedName // name "" for a user who cannot be found
	dms      map[string]cachedName // user id -> direct channel id (never changes)
}

func (n *nameCache) get(m map[string]cachedName, id string) (cachedName, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := m[id]
	return c, ok && time.Since(c.at) < namesFresh
}

func (n *nameCache) put(m *map[string]cachedName, id string, c cachedName) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if *m == nil || len(*m) >= namesMax {
		*m = map[string]cachedName{}
	}
	c.at = time.Now()
	(*m)[id] = c
}

// Channel returns a channel's name and team, remembered for a while.
func (b *Bot) Channel(id string) (name, teamID string, ok bool) {
	if c, ok := b.names.get(b.names.channels, id); ok {
		return c.name, c.teamID, true
	}
	ch, appErr := b.api.GetChannel(id)
	if appErr != nil {
		return "", "", false
	}
	b.rememberChannel(ch)
	return ch.Name, ch.TeamId, true
}

func (b *Bot) rememberChannel(ch *model.Channel) {
	b.names.put(&b.names.channels, ch.Id, cachedName{name: ch.Name, teamID: ch.TeamId})
}

// TeamName returns a team's name, remembered for a while.
func (b *Bot) TeamName(id string) (string, bool) {
	if c, ok := b.names.get(b.names.teams, id); ok {
		return c.name, true
	}
	t, appErr := b.api.GetTeam(id)
	if appErr != nil {
		return "", false
	}
	b.names.put(&b.names.teams, id, cachedName{name: t.Name})
	return t.Name, true
}

// Username returns a user's username, remembered for a while; ok is false
// for a user who cannot be found (deleted), which is remembered too.
func (b *Bot) Username(userID string) (string, bool) {
	if c, ok := b.names.get(b.names.users, userID); ok {
		return c.name, c.name != ""
	}
	u, appErr := b.api.GetUser(userID)
	name := ""
	if appErr == nil {
		name = u.Username
	} else if appErr.StatusCode != 404 {
		return "", false // not known now: not remembered
	}
	b.names.put(&b.names.users, userID, cachedName{name: name})
	return name, name != ""
}

// directChannel returns the bot's direct channel with userID, created if
// need be; a channel's id never changes, so it is remembered.
func (b *Bot) directChannel(userID string) (string, *model.AppError) {
	b.names.mu.Lock()
	c, ok := b.names.dms[userID]
	b.names.mu.Unlock()
	if ok {
		return c.name, nil
	}
	ch, appErr := b.api.GetDirectChannel(b.userID, userID)
	if appErr != nil {
		return "", appErr
	}
	b.names.mu.Lock()
	if b.names.dms == nil || len(b.names.dms) >= namesMax {
		b.names.dms = map[string]cachedName{}
	}
	b.names.dms[userID] = cachedName{name: ch.Id}
	b.names.mu.Unlock()
	return ch.Id, nil
}
