package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// errReadOnly answers everything that would change or post something.
var errReadOnly = errors.New("the archive is read-only")

// now is the tool's clock; tests fix it.
var now = time.Now

// offline stands in for the Mattermost server: it names users from the
// archive's directory, allows every read and refuses every write.
type offline struct{ dir *archive.Directory }

// user returns the archive's entry for a user; ok is false for the bot
// (or no actor at all), and found is false for a user it does not name.
func (o offline) user(id string) (u archive.User, bot, found bool) {
	if id == incident.ActorSystem {
		return u, true, true
	}
	u, found = o.dir.Users[id]
	return u, found && u.Bot, found
}

// Name names an actor as the plugin's replies do (bot.Mention): @username,
// the bot, or a former user.
func (o offline) Name(id string) string {
	u, bot, found := o.user(id)
	switch {
	case id == "" || bot:
		return incident.BotName
	case !found:
		return "a former user"
	}
	return "@" + u.Username
}

// Render turns <@id> references into names, as the plugin's Render does.
func (o offline) Render(text string) string { return rota.RenderUsers(text, o.Name) }

// QuietName names a user as the plugin's postmortems do (bot.QuietName).
func (o offline) QuietName(id string) string {
	u, bot, found := o.user(id)
	switch {
	case bot:
		return incident.BotName
	case !found:
		return "a former user"
	}
	return mention.Quiet(u.Username)
}

// PublishPostmortem implements app.Postmortems.
func (offline) PublishPostmortem(context.Context, *incident.Incident, []string, string, []string) error {
	return errReadOnly
}

// CanAccessChannel implements app.Access: whoever holds the file reads all of it.
func (offline) CanAccessChannel(context.Context, string, string) bool { return true }

// CanReadTeam implements app.Access.
func (offline) CanReadTeam(context.Context, string, string) bool { return true }

// IsSystemAdmin implements app.Directory.
func (offline) IsSystemAdmin(context.Context, string) bool { return true }
func (offline) IsActiveUser(context.Context, string) bool  { return true }

// app.Chat and app.Notifier: nothing is posted.

func (offline) CreateIncidentChannel(context.Context, *incident.Incident, bool) (string, error) {
	return "", errReadOnly
}
func (offline) ArchiveChannel(context.Context, string) error       { return errReadOnly }
func (offline) AddToChannel(context.Context, string, string) error { return errReadOnly }
func (offline) PostCard(context.Context, *incident.Incident) (string, string, error) {
	return "", "", errReadOnly
}
func (offline) UpdateCard(context.Context, *incident.Incident, string) (string, error) {
	return "", errReadOnly
}
func (offline) DeletePost(context.Context, string) error { return errReadOnly }
func (offline) PostHandover(context.Context, *incident.Incident, incident.Role) (string, error) {
	return "", errReadOnly
}
func (offline) CloseHandover(context.Context, *incident.Incident, incident.Role, string, string) error {
	return errReadOnly
}
func (offline) Announce(context.Context, *incident.Incident, string) error { return errReadOnly }
func (offline) Publish(context.Context, *incident.Incident, []incident.Event, string) error {
	return errReadOnly
}

// noSchedules implements app.Schedules: rota handoffs are not run offline.
func noSchedules(string) (rota.Schedule, *time.Location, error) { return nil, nil, errReadOnly }

// noIDs implements app.IDs: nothing new is made offline.
func noIDs() string { return "readonly" }

// session is an opened archive with the plugin's use cases over it.
type session struct {
	arc      *archivefile.Archive
	app      *app.App
	names    offline
	settings app.Settings
}

// open opens the archive at path and builds the use cases over its store.
func open(path string) (*session, error) {
	// An archive from elsewhere is read as the plugin reads one: checked
	// in a child process first (a crafted file must not crash the tool).
	lim := archivefile.DefaultLimits
	lim.MaxBytes, lim.Timeout = 1<<40, time.Hour // an admin's own machine
	arc, err := archivefile.OpenUntrusted(context.Background(), path, lim)
	if err != nil {
		return nil, err
	}
	s := &session{arc: arc, names: offline{dir: arc.Directory}}
	if s.settings, err = app.SettingsFromArchive(arc.Settings); err != nil {
		_ = arc.Close()
		return nil, err
	}
	settings := s.settings
	s.app, err = app.New(app.Deps{Store: arc.Store(), Chat: s.names, Notifier: s.names, Access: s.names, Directory: s.names,
		Schedules: noSchedules, Settings: func() app.Settings { return settings }, Clock: func() time.Time { return now() }, IDs: noIDs,
		Postmortems: s.names, Inline: true})
	if err != nil {
		_ = arc.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

func (s *session) Close() error { return s.arc.Close() }
