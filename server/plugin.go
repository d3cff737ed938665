package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/pluginapi"
	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/api"
	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/archiveflow"
	"github.com/incidentbot/mattermost-incident-bot/server/bot"
	"github.com/incidentbot/mattermost-incident-bot/server/command"
	"github.com/incidentbot/mattermost-incident-bot/server/hosts"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/outbound"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
	"github.com/incidentbot/mattermost-incident-bot/server/web"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// manifestID is the plugin id; it keys the plugin's KV data forever.
const manifestID = "io.incidentbot.mattermost"

// Plugin is the composition root: OnActivate builds every piece, the hooks
// delegate to them.
type Plugin struct {
	plugin.MattermostPlugin

	config atomic.Pointer[configuration]

	log      zerolog.Logger
	bot      *bot.Bot
	commands *command.Handler
	router   http.Handler
	tick     *schedule.Job // the once-per-cluster periodic work; nil until activated
	core     *app.App
	archives *archiveflow.Flow

	adminNotices   sync.Map        // messages already sent to admins, to avoid repeats
	pendingNotices []pendingNotice // notices to the admins made before the bot existed

	serverAPI atomic.Pointer[plugin.API] // the API as last set, for main to see the server hang up (exit.go)
	calls     *apiCalls                  // what this process asked of the server, per method
}

// OnActivate wires the plugin. It only builds and registers; anything slow
// belongs in background jobs.
func (p *Plugin) OnActivate() error {
	p.calls = &apiCalls{}
	p.API = countedAPI{API: p.API, calls: p.calls}
	p.log = zerolog.New(bot.LogWriter{API: p.API}).With().Timestamp().Logger()
	client := pluginapi.NewClient(p.API, p.Driver)

	botID, err := bot.EnsureAccount(p.API, client)
	if err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	p.bot = bot.New(p.API, manifestID, botID)
	p.bot.SiteURL = p.siteURL
	p.flushNotices()

	offset := clockOffset()
	if offset != 0 {
		p.log.Warn().Dur("offset", offset).Msg("this node's clock is shifted by INCIDENT_BOT_CLOCK_OFFSET, a test setting")
	}
	core, err := app.New(app.Deps{
		Store:     kvstore.New(&client.KV),
		Chat:      p.bot,
		Notifier:  p.bot,
		Access:    p.bot,
		Directory: p.bot,
		Schedules: func(spec string) (rota.Schedule, *time.Location, error) {
			s, err := schedule.Parse(spec)
			if err != nil {
				return nil, nil, err
			}
			return s, s.Location, nil
		},
		Settings:    func() app.Settings { return p.getConfiguration().appSettings() },
		Clock:       func() time.Time { return time.Now().Add(offset) },
		WorkClock:   work.RealClock(offset),
		DeadLetters: p.tellDeadLetter,
		IDs:         newShortID,
		Reminders:   p.bot,
		Postmortems: p.bot,
		Handoffs:    p.bot,
		Pager:       p.bot,
		Releases:    p.bot,
		Runbooks:    p.bot,
		OnDuty:      p.bot,
		Shifts:      p.bot,
		Reach: &outbound.Sender{API: p.API, Name: p.bot.Mention,
			PageURL: func(path string) string { return p.pageURL("", path) },
			Hosts:   func() hosts.List { return p.getConfiguration().webhookHosts }},
		Names: archiveflow.Names(p.API),
		BotID: botID,
		Log:   p.log,
	})
	if err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	p.core = core
	p.archives = &archiveflow.Flow{API: p.API, Bot: p.bot, Core: core, PluginID: manifestID, Log: p.log,
		SiteURL: p.siteURL, Settings: p.settingsSnapshot}
	p.commands = &command.Handler{
		App:             core,
		Dialogs:         p.bot,
		DefaultSeverity: func() incident.Severity { return p.getConfiguration().severity() },
		ChannelURL:      p.channelURL,
		CalendarURL:     p.calendarURL,
		PageURL:         p.pageURL,
		UserName:        p.bot.Mention,
		UserID:          p.userIDByName,
		Render:          p.bot.Render,
		ChannelName: func(id string) string {
			if name, _, ok := p.bot.Channel(id); ok {
				return name
			}
			return id
		},
		TeamID: p.teamIDByName,
		TeamName: func(id string) string {
			if t, appErr := p.API.GetTeam(id); appErr == nil {
				return t.Name
			}
			return id
		},
		Archives: p.archives,
		Log:      p.log,
	}
	pages := &web.Pages{App: core, Name: p.bot.QuietName, Archives: p.archives, Log: p.log, TeamID: p.teamIDByName, MaxUpload: p.archives.MaxFileSize}
	p.router = (&api.API{App: core, Dialogs: p.bot, Platform: p.API, BotID: botID, Render: p.bot.Render, Pages: pages, Archives: p.archives, Log: p.log,
		Setup: setupPort{p.bot, p}, Calls: p.calls.snapshot}).Handler()

	if err := p.API.RegisterCommand(command.Command()); err != nil {
		return fmt.Errorf("activate: register /%s: %w", command.Trigger, err)
	}
	core.Activate(context.Background())
	// Last: a tick may run at once and post as the bot, so everything it
	// uses must be in place, and a failed activation must leave no job.
	if p.tick, err = schedule.StartTick(p.API, tickInterval, core.Tick, p.log); err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	version := p.API.GetServerVersion()
	// Handles are real user groups where the server lets plugins manage
	// them, else the bot answers them (see bot/groups.go).
	p.log.Info().Str("server_version", version).Str("handles", p.bot.EnableGroupSync(version)).Msg("incident bot activated")
	return nil
}

// tickInterval is how often the periodic work (rota handoffs, later due
// timers) runs across the cluster.
const tickInterval = schedule.DefaultTickInterval

// deactivateTimeout bounds the wait for a running tick when the plugin is
// disabled: the server gives OnDeactivate no limit on disable (the System
// Console would hang) and 10 seconds on shutdown.
const deactivateTimeout = 5 * time.Second

// quiesceTimeout bounds the wait for follow-up work in flight when the
// plugin is deactivated; with deactivateTimeout it stays under the 10
// seconds the server gives at shutdown.
const quiesceTimeout = 3 * time.Second

// OnDeactivate lets follow-up work in flight finish, then stops the
// periodic work on this node; other nodes carry on.
func (p *Plugin) OnDeactivate() error {
	if p.core != nil {
		ctx, cancel := context.WithTimeout(context.Background(), quiesceTimeout)
		defer cancel()
		if err := p.core.Quiesce(ctx); err != nil {
			p.log.Warn().Err(err).Msg("deactivate: follow-up work still running; another instance takes it over")
		}
	}
	if p.tick == nil {
		return nil
	}
	if err := p.tick.Close(deactivateTimeout); err != nil {
		p.log.Warn().Err(err).Msg("deactivate: tick job still running; it ends with the plugin process")
	}
	p.tick = nil
	return nil
}

// siteURL is the server's configured site URL, "" when none is set.
func (p *Plugin) siteURL() string {
	if cfg := p.API.GetConfig(); cfg != nil && cfg.ServiceSettings.SiteURL != nil {
		return *cfg.ServiceSettings.SiteURL
	}
	return ""
}

// pageURL is the address of one of the plugin's pages (package web):
// under the configured site URL when there is one, else under the one the
// command came from.
func (p *Plugin) pageURL(siteURL, path string) string {
	if s := p.siteURL(); s != "" {
		siteURL = s
	}
	return strings.TrimSuffix(siteURL, "/") + "/plugins/" + manifestID + path
}

// calendarURL is a calendar feed's URL: under the configured site URL when
// there is one (calendar apps fetch it from outside), else under the one
// the command came from.
func (p *Plugin) calendarURL(siteURL, token string, team bool) string {
	if cfg := p.API.GetConfig(); cfg != nil && cfg.ServiceSettings.SiteURL != nil && *cfg.ServiceSettings.SiteURL != "" {
		siteURL = *cfg.ServiceSettings.SiteURL
	}
	return api.CalendarURL(strings.TrimSuffix(siteURL, "/")+"/plugins/"+manifestID, token, team)
}

// ExecuteCommand serves /incident.
func (p *Plugin) ExecuteCommand(c *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	verb, rest := command.Parse(args.Command)
	if p.core != nil {
		defer p.core.Live()()
	}
	if p.calls != nil {
		defer p.calls.served("/incident "+verb, time.Now())
	}
	reply := p.commands.Execute(context.Background(), command.Call{
		UserID: args.UserId, ChannelID: args.ChannelId, TeamID: args.TeamId, TriggerID: args.TriggerId,
		SiteURL: args.SiteURL, Verb: verb, Rest: rest,
	})
	return reply.Response(), nil
}

// ServeHTTP serves the plugin's routes.
func (p *Plugin) ServeHTTP(c *plugin.Context, w http.ResponseWriter, r *http.Request) {
	if p.router == nil {
		http.Error(w, "incident bot is starting", http.StatusServiceUnavailable)
		return
	}
	if p.core != nil && r.URL.Path != web.ArchivePath { // a download is bulk work itself
		defer p.core.Live()()
	}
	if p.calls != nil {
		defer p.calls.served(routeName(r), time.Now())
	}
	p.router.ServeHTTP(w, r)
}

func (p *Plugin) channelURL(siteURL, channelID string) string {
	name, teamID, ok := p.bot.Channel(channelID)
	if !ok || siteURL == "" {
		return ""
	}
	team, ok := p.bot.TeamName(teamID)
	if !ok {
		return ""
	}
	return siteURL + "/" + team + "/channels/" + name
}

// tellAdmins sends msg once per plugin process to every system admin, as
// the bot, when the bot exists.
func (p *Plugin) tellAdmins(msg string) {
	if p.bot == nil {
		return
	}
	if _, seen := p.adminNotices.LoadOrStore(msg, true); seen {
		return
	}
	admins, appErr := p.API.GetUsers(&model.UserGetOptions{Role: model.SystemAdminRoleId, Page: 0, PerPage: 50})
	if appErr != nil {
		p.log.Warn().Err(appErr).Msg("list system admins")
		return
	}
	for _, a := range admins {
		ch, appErr := p.API.GetDirectChannel(p.bot.UserID(), a.Id)
		if appErr != nil {
			continue
		}
		_, _ = p.API.CreatePost(&model.Post{UserId: p.bot.UserID(), ChannelId: ch.Id, Message: msg})
	}
}

// newShortID returns a random 6-character incident id (32^6, about a
// billion values; a collision only costs a retry).
func newShortID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	for i := range b {
		b[i] = app.IDAlphabet[int(b[i])%len(app.IDAlphabet)]
	}
	return string(b[:])
}

func remarshal(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// clockOffset is INCIDENT_BOT_CLOCK_OFFSET, a Go duration by which this
// node's clock is shifted: end-to-end tests start nodes whose clocks
// disagree. 0 when unset or unreadable.
func clockOffset() time.Duration {
	d, err := time.ParseDuration(os.Getenv("INCIDENT_BOT_CLOCK_OFFSET"))
	if err != nil {
		return 0
	}
	return d
}

// tellDeadLetter tells the system admins, once, of work set aside after
// failing too often, and what to do about it.
func (p *Plugin) tellDeadLetter(_ context.Context, d work.DeadLetter) {
	p.tellAdmins(fmt.Sprintf("Incident bot: work on %s failed %d times in a row and was set aside, so that it holds up nothing else. "+
		"The last error: %s\n\nFix the cause (the server log has every attempt), then run `/incident work retry %d` to do it again, "+
		"or `/incident work drop %d` to give it up. `/incident work` lists everything set aside.", d.Ref(), d.Tries, d.Error, d.N, d.N))
}

// routeName names r's route for the usage counts: the path without ids.
func routeName(r *http.Request) string {
	path := r.URL.Path
	if strings.HasPrefix(path, web.IncidentsPath+"/") {
		path = web.IncidentsPath + "/{id}"
	}
	return r.Method + " " + path
}

// settingsSnapshot is the plugin's settings without its secrets, and the
// values reports need, for an archive.
func (p *Plugin) settingsSnapshot() []byte {
	var fields map[string]any
	raw, _ := json.Marshal(p.getConfiguration())
	_ = json.Unmarshal(raw, &fields)
	for k := range fields {
		if l := strings.ToLower(k); strings.Contains(l, "token") || strings.Contains(l, "secret") {
			delete(fields, k)
		}
	}
	return p.getConfiguration().appSettings().Snapshot(fields)
}

// teamIDByName finds a team's id by its name, for the pages' team filter.
func (p *Plugin) teamIDByName(name string) (string, bool) {
	t, appErr := p.API.GetTeamByName(name)
	if appErr != nil {
		return "", false
	}
	return t.Id, true
}
