// Package command serves /incident. One table (table.go) drives routing,
// autocomplete and help, so the three can never drift apart.
package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
)

// Trigger is the slash command's name.
const Trigger = "incident"

// Dialogs opens the interactive dialogs commands can lead to.
type Dialogs interface {
	OpenStartDialog(triggerID string, defaultSeverity incident.Severity, runbooks, rotas []string) error
	OpenUpdateDialog(triggerID string, inc *incident.Incident) error
	OpenRunbookDialog(triggerID, name string, cur *runbook.Definition) error
	OpenSetupDialog(triggerID string, s *app.Setup) error
}

// Handler runs /incident calls against the app.
type Handler struct {
	App             *app.App
	Dialogs         Dialogs
	DefaultSeverity func() incident.Severity
	// ChannelURL returns a link to a channel, for moving the user into a new
	// incident channel; "" when unknown.
	ChannelURL func(siteURL, channelID string) string
	// UserName renders a user for replies ("@alice"); replies are ephemeral,
	// so this notifies nobody.
	UserName func(userID string) string
	// UserID resolves a username (without @) to a user id.
	UserID func(username string) (string, bool)
	// Render turns the domain's <@id> user references into @usernames.
	Render func(string) string
	// ChannelName returns a channel's name for ~links.
	ChannelName func(channelID string) string
	// TeamID finds a team by name; TeamName names a team for ~links.
	TeamID   func(name string) (string, bool)
	TeamName func(teamID string) string
	// CalendarURL returns the URL of a calendar feed token (the team feed's
	// with team), preferring the server's configured site URL over siteURL
	// (the one the command came from).
	CalendarURL func(siteURL, token string, team bool) string
	// PageURL returns the address of one of the plugin's pages (a path of
	// package web, e.g. web.IncidentPath(id)), preferring the configured
	// site URL over siteURL; "" when unknown.
	PageURL func(siteURL, path string) string
	// Archives exports the incident archive; nil: archives are off.
	Archives Archives
	Log      zerolog.Logger
}

// Archives starts incident archive exports.
type Archives interface {
	// StartArchiveExport checks that actor may export, then exports in the
	// background and sends the file to actor by direct message.
	StartArchiveExport(ctx context.Context, actor string, since time.Time) error
}

// Reply is what the user sees: ephemeral text, optionally a channel to go to.
type Reply struct {
	Text string
	Goto string
}

// Execute runs one call and never fails: errors become a one-line reply that
// says what to type instead; internal errors are logged with context.
func (h *Handler) Execute(ctx context.Context, c Call) Reply {
	sub, ok := lookup(c.Verb)
	if !ok {
		if c.Verb == "" {
			return Reply{Text: helpText()}
		}
		return Reply{Text: fmt.Sprintf("Unknown command `%s`. %s", mention.Inline(c.Verb), shortHelp())}
	}
	r, err := sub.run(ctx, h, c)
	if err != nil {
		return Reply{Text: h.errorText(sub, c, err)}
	}
	return r
}

func (h *Handler) errorText(sub *subcommand, c Call, err error) string {
	if errors.Is(err, app.ErrNotIncidentChannel) {
		return fmt.Sprintf("This is not an incident channel: run it in the incident's channel, or name the incident: `/%s %s #<id> %s` (`/%s list` shows ids).",
			Trigger, sub.name, sub.hintAfterRef(), Trigger)
	}
	msg := h.Render(incident.UserMessage(err))
	switch incident.KindOf(err) {
	case incident.KindInternal:
		h.Log.Error().Err(err).Str("verb", c.Verb).Str("user", c.UserID).Str("channel", c.ChannelID).Msg("command failed")
	case incident.KindInvalid:
		msg += fmt.Sprintf("\nUsage: `/%s %s %s`", Trigger, sub.name, sub.hint)
	}
	return msg
}

// Response converts a reply for the server. The text goes out as written:
// the server's Slack-compatibility rewriting is off, as for every reply of
// the plugin. Replies render their user references themselves (Render),
// and the rewriting would garble user text shown in them: a title
// "<!channel> down" would read "@channel down", "DB <primary|replica>" a
// link.
func (r Reply) Response() *model.CommandResponse {
	return &model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: r.Text, GotoLocation: r.Goto, SkipSlackParsing: true}
}
