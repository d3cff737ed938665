package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/pluginapi"
	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// The routes are tested over the real app on the production store
// (kvstore on the plugin KV API's in-memory implementation). fakeMM stands
// in for everything outside: the Mattermost server the routes ask about
// posts, teams and permissions, and the bot adapter the app posts through,
// whose posts carry the props the bot's posts carry (see package bot), so
// that a route can tell them apart as it must on a real server.

// botID is the bot's user id.
const botID = "incidentbot"

// fakeMM is the Mattermost server and the bot adapter. Every post the app
// asks for becomes a post of the bot in posts.
type fakeMM struct {
	mu        sync.Mutex
	posts     map[string]*model.Post
	private   map[string][]string // channel -> the only users who may read it
	teamMates map[string]bool     // users who belong to team "team"
	admins    map[string]bool
	dialogs   []string        // "kind:incident" per dialog opened
	pages     []string        // page id per notice sent
	onNotify  func(*app.Page) // once, at the next notice, before its posts
	ephemeral []string        // "user:message" per ephemeral post sent
	channels  int
	n         int
}

func newFakeMM() *fakeMM {
	return &fakeMM{posts: map[string]*model.Post{}, private: map[string][]string{}, teamMates: map[string]bool{}, admins: map[string]bool{"root": true}}
}

// post stores a post by user in channel with props and returns its id.
func (f *fakeMM) post(user, channel string, props model.StringInterface) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	p := &model.Post{Id: fmt.Sprintf("post%d", f.n), UserId: user, ChannelId: channel}
	for k, v := range props {
		p.AddProp(k, v)
	}
	f.posts[p.Id] = p
	return p.Id
}

func (f *fakeMM) opened() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.dialogs...)
}

func (f *fakeMM) open(kind string, inc *incident.Incident) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialogs = append(f.dialogs, kind+":"+inc.ID)
	return nil
}

// Platform.

func (f *fakeMM) GetPost(id string) (*model.Post, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.posts[id]
	if !ok {
		return nil, model.NewAppError("GetPost", "app.post.get.app_error", nil, "", http.StatusNotFound)
	}
	return p.Clone(), nil
}

func (f *fakeMM) HasPermissionToTeam(user, team string, _ *model.Permission) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return team == "team" && f.teamMates[user]
}

func (f *fakeMM) SendEphemeralPost(user string, p *model.Post) *model.Post {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ephemeral = append(f.ephemeral, user+":"+p.Message)
	return p
}

func (f *fakeMM) GetTeamByName(name string) (*model.Team, *model.AppError) {
	if name != "ops" {
		return nil, model.NewAppError("GetTeamByName", "app.team.get_by_name.missing.app_error", nil, "", http.StatusNotFound)
	}
	return &model.Team{Id: "team", Name: name}, nil
}

func (f *fakeMM) GetChannel(id string) (*model.Channel, *model.AppError) {
	return &model.Channel{Id: id, TeamId: "team"}, nil
}

func (f *fakeMM) CreateTeamMember(team, user string) (*model.TeamMember, *model.AppError) {
	return &model.TeamMember{TeamId: team, UserId: user}, nil
}

// Dialogs.

func (f *fakeMM) OpenUpdateDialog(_ string, inc *incident.Incident) error {
	return f.open("update", inc)
}

func (f *fakeMM) OpenResolveDialog(_ string, inc *incident.Incident) error {
	return f.open("resolve", inc)
}

func (f *fakeMM) OpenHotfixDialog(_ string, inc *incident.Incident) error {
	return f.open("hotfix", inc)
}

func (f *fakeMM) OpenRejectDialog(_ string, inc *incident.Incident, _ *hotfix.Hotfix, group string) error {
	return f.open("reject-"+group, inc)
}

// app.Chat and app.Notifier: the bot's posts, with the bot's props.

func (f *fakeMM) CreateIncidentChannel(_ context.Context, inc *incident.Incident, _ bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.channels++
	return fmt.Sprintf("ch%d", f.channels), nil
}

func (f *fakeMM) ArchiveChannel(context.Context, string) error       { return nil }
func (f *fakeMM) AddToChannel(context.Context, string, string) error { return nil }
func (f *fakeMM) UpdateCard(_ context.Context, _ *incident.Incident, shown string) (string, error) {
	return shown, nil
}

func (f *fakeMM) PostCard(_ context.Context, inc *incident.Incident) (string, string, error) {
	return f.post(botID, inc.ChannelID, model.StringInterface{wire.PropIncidentID: inc.ID}), "", nil
}

func (f *fakeMM) DeletePost(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.posts, id)
	return nil
}

func (f *fakeMM) PostHandover(_ context.Context, inc *incident.Incident, role incident.Role) (string, error) {
	return f.post(botID, inc.ChannelID, model.StringInterface{wire.PropIncidentID: inc.ID, wire.PropHandoverRole: string(role)}), nil
}

func (f *fakeMM) CloseHandover(context.Context, *incident.Incident, incident.Role, string, string) error {
	return nil
}

func (f *fakeMM) Announce(_ context.Context, inc *incident.Incident, ch string) error {
	f.post(botID, ch, model.StringInterface{wire.PropIncidentID: inc.ID})
	return nil
}

func (f *fakeMM) Publish(context.Context, *incident.Incident, []incident.Event, string) error {
	return nil
}

// app.Access and app.Directory.

func (f *fakeMM) CanReadTeam(context.Context, string, string) bool { return true }

func (f *fakeMM) CanAccessChannel(_ context.Context, user, ch string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	only, private := f.private[ch]
	if !private {
		return true
	}
	for _, u := range only {
		if u == user {
			return true
		}
	}
	return false
}

func (f *fakeMM) IsSystemAdmin(_ context.Context, user string) bool { return f.admins[user] }
func (f *fakeMM) IsActiveUser(context.Context, string) bool         { return true }

// app.Pager: a page is a post in the page's channel and a direct message,
// each with the page's id, as the bot makes them.

func (f *fakeMM) NotifyPage(_ context.Context, p *app.Page, _ *incident.Incident, n app.Notice) (app.Delivery, error) {
	f.mu.Lock()
	hook := f.onNotify
	f.onNotify = nil
	f.mu.Unlock()
	if hook != nil {
		hook(p)
	}
	var d app.Delivery
	for _, dm := range []bool{false, true} {
		ch := p.ChannelID
		if dm {
			ch = "dm-" + p.Targets[n.Level-1].UserID
		}
		id := f.post(botID, ch, model.StringInterface{wire.PropPageID: p.ID})
		d.Posts = append(d.Posts, app.PagePost{ID: id, ChannelID: ch, Level: n.Level, DM: dm})
		d.Sent++
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pages = append(f.pages, p.ID)
	return d, nil
}

func (f *fakeMM) PagePosts(context.Context, *app.Page, time.Time) ([]app.PagePost, error) {
	return nil, nil
}

func (f *fakeMM) UpdatePage(context.Context, *app.Page, *incident.Incident) error { return nil }

// app.Handoffs.

func (f *fakeMM) PostHandoff(_ context.Context, h *app.Handoff) (string, error) {
	return f.post(botID, h.ChannelID, model.StringInterface{wire.PropHandoffKey: h.Key}), nil
}

func (f *fakeMM) UpdateHandoff(context.Context, *app.Handoff) error { return nil }

// app.Releases.

func (f *fakeMM) PostHotfix(_ context.Context, inc *incident.Incident, h *hotfix.Hotfix, _ *hotfix.Groups) (string, error) {
	return f.post(botID, inc.ChannelID, model.StringInterface{wire.PropIncidentID: inc.ID, wire.PropHotfix: strconv.Itoa(h.N)}), nil
}

func (f *fakeMM) UpdateHotfix(context.Context, *incident.Incident, *hotfix.Hotfix, *hotfix.Groups) error {
	return nil
}

func (f *fakeMM) HotfixNotice(context.Context, *incident.Incident, *hotfix.Hotfix, *hotfix.Groups, incident.Event, string) error {
	return nil
}

func (f *fakeMM) AnnounceFreeze(context.Context, *app.Freeze, bool, string) error { return nil }

// routeEnv is the plugin's HTTP handler over the real app.
type routeEnv struct {
	mm       *fakeMM
	app      *app.App
	store    incident.Store
	handler  http.Handler
	mu       sync.Mutex
	now      time.Time
	settings app.Settings
}

// Alert tokens of the tests.
const (
	amToken = "am-token-0123456789abcdef"
	gfToken = "gf-token-0123456789abcdef"
)

// newRouteEnv builds the handler over a new store. The rota puts ian on
// incident manager, lea on first line and rob, then rita, on release
// manager; sign-off groups are qa (quinn, quentin) and support (sam).
// ann, bob and the rota's members belong to the team.
func newRouteEnv(t *testing.T) *routeEnv {
	t.Helper()
	mm := newFakeMM()
	for _, u := range []string{"ann", "bob", "ian", "lea", "rob", "rita", "quinn", "quentin", "sam", "root"} {
		mm.teamMates[u] = true
	}
	e := &routeEnv{mm: mm, store: kvstore.New(&pluginapi.MemoryStore{}), now: time.Date(2026, 11, 4, 10, 0, 0, 0, time.UTC)}
	e.settings = app.Settings{
		BroadcastChannelID: "bc",
		AckTimeout:         map[incident.Severity]time.Duration{incident.S1: 5 * time.Minute, incident.S2: 10 * time.Minute, incident.S3: 30 * time.Minute},
		HotfixGroups:       []string{"qa", "support"},
		Alerts: app.AlertSettings{Tokens: map[alert.Source]string{alert.SourceAlertmanager: amToken, alert.SourceGrafana: gfToken},
			TeamName: "ops", DefaultSeverity: incident.S3},
	}
	ids := 0
	a, err := app.New(app.Deps{
		Inline: true,
		Store:  e.store,
		Chat:   mm, Notifier: mm, Access: mm, Directory: mm, Pager: mm, Handoffs: mm, Releases: mm,
		Schedules: func(spec string) (rota.Schedule, *time.Location, error) {
			s, err := schedule.Parse(spec)
			if err != nil {
				return nil, nil, err
			}
			return s, s.Location, nil
		},
		Settings: func() app.Settings {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.settings
		},
		Clock: func() time.Time {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.now = e.now.Add(time.Second)
			return e.now
		},
		IDs: func() string {
			e.mu.Lock()
			defer e.mu.Unlock()
			ids++
			return fmt.Sprintf("inc%d", ids)
		},
		Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.app = a
	api := &API{App: a, Dialogs: mm, Platform: mm, BotID: botID, Render: func(s string) string { return s }, Log: zerolog.Nop()}
	e.handler = api.Handler()
	_, _, _, err = a.EditRota(context.Background(), "root", func(v *app.RotaView, now time.Time) ([]string, error) {
		s, err := schedule.Parse(handoffSpec)
		if err != nil {
			return nil, err
		}
		if _, err := v.Rota.SetHandoff(handoffSpec, v.Schedule, s, now); err != nil {
			return nil, err
		}
		for role, ids := range map[incident.Role][]string{incident.RoleIM: {"ian"}, incident.RoleL1: {"lea"}, incident.RoleRM: {"rob", "rita"}} {
			if _, err := v.Rota.SetMembers(role, ids, v.Schedule, now); err != nil {
				return nil, err
			}
		}
		v.Rota.ChannelID = "rota"
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, members := range map[string][]string{"qa": {"quinn", "quentin"}, "support": {"sam"}} {
		if _, err := a.SetSignoffGroup(context.Background(), "root", name, members); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// handoffSpec hands the rota over on Mondays at 09:00 UTC.
const handoffSpec = "CRON_TZ=UTC 0 9 * * MON"

// setNow sets the app's clock.
func (e *routeEnv) setNow(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = t
}

// start opens an S2 incident as ann, private to users when any are given.
func (e *routeEnv) start(t *testing.T, users ...string) *incident.Incident {
	t.Helper()
	e.mu.Lock()
	e.settings.PrivateChannels = len(users) > 0
	e.mu.Unlock()
	inc, err := e.app.Start(context.Background(), app.StartRequest{TeamID: "team", ActorID: "ann", Title: "Checkout down", Severity: incident.S2})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) > 0 {
		e.mm.mu.Lock()
		e.mm.private[inc.ChannelID] = users
		e.mm.mu.Unlock()
	}
	return e.incident(t, inc.ID)
}

// incident reads an incident from the store.
func (e *routeEnv) incident(t *testing.T, id string) *incident.Incident {
	t.Helper()
	inc, err := e.store.GetIncident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// events returns the incident's events of type typ.
func (e *routeEnv) events(t *testing.T, id string, typ incident.EventType) []incident.Event {
	t.Helper()
	tl, err := e.store.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []incident.Event
	for _, ev := range tl {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// reply is a route's answer.
type reply struct {
	code int
	body string
}

// ephemeral is the text shown to the clicker of a button.
func (r reply) ephemeral(t *testing.T) string {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("status %d (%s), want 200 with an ephemeral reply", r.code, r.body)
	}
	var resp model.PostActionIntegrationResponse
	if err := json.Unmarshal([]byte(r.body), &resp); err != nil {
		t.Fatalf("reply %q: %v", r.body, err)
	}
	return resp.EphemeralText
}

// do sends a request as user (no Mattermost-User-Id header when user is
// "") with body encoded as JSON.
func (e *routeEnv) do(method, path, user string, body any, headers ...string) reply {
	var b []byte
	switch v := body.(type) {
	case nil:
	case []byte:
		b = v
	default:
		b, _ = json.Marshal(v)
	}
	r := httptest.NewRequest(method, path, bytes.NewReader(b))
	if user != "" {
		r.Header.Set("Mattermost-User-Id", user)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return reply{w.Code, w.Body.String()}
}

// click sends a button click as user on post, with the button's context.
func (e *routeEnv) click(action, user, postID string, button map[string]any) reply {
	return e.do(http.MethodPost, "/api/v1/actions/"+action, user,
		&model.PostActionIntegrationRequest{PostId: postID, TriggerId: "trigger", Context: button})
}

// incidentButton is the context of a card button of inc.
func incidentButton(inc *incident.Incident) map[string]any {
	return map[string]any{wire.ContextIncidentID: inc.ID}
}

// submit sends a dialog submission as user.
func (e *routeEnv) submit(dialog, user string, req *model.SubmitDialogRequest) reply {
	return e.do(http.MethodPost, "/api/v1/dialogs/"+dialog, user, req)
}
