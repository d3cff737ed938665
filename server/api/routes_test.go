package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/bot"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// The security rules of the routes: the acting user is the
// Mattermost-User-Id header the server sets, and nothing else; each
// button acts only from the bot's own post it belongs to; each action is
// refused to those it is not for; alerts need their source's token.

var ctx = context.Background()

// snap is an incident as it was, and its timeline's length then.
type snap struct {
	inc    *incident.Incident
	events int
}

// snapshot reads incident id, for unchanged.
func (e *routeEnv) snapshot(t *testing.T, id string) snap {
	t.Helper()
	tl, err := e.store.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return snap{e.incident(t, id), len(tl)}
}

// unchanged fails the test if the incident of s changed since.
func (e *routeEnv) unchanged(t *testing.T, s snap, what string) {
	t.Helper()
	now := e.snapshot(t, s.inc.ID)
	if now.inc.Revision != s.inc.Revision || now.events != s.events {
		t.Errorf("%s changed the incident: revision %d -> %d, %d -> %d events, status %s -> %s",
			what, s.inc.Revision, now.inc.Revision, s.events, now.events, s.inc.Status, now.inc.Status)
	}
}

// Every route but the alert webhook refuses a request the server did not
// authenticate (no Mattermost-User-Id header), whatever user the body
// names, before it reads or changes anything.
func TestRoutesRefuseRequestsWithoutTheUserHeader(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t)
	pageID := e.mm.pages[0]
	pagePost := e.record(t, pageID).Posts[0].ID
	before := e.snapshot(t, inc.ID)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/v1/actions/" + wire.ActionMitigate,
			&model.PostActionIntegrationRequest{UserId: "ann", PostId: inc.CardPostID, Context: incidentButton(inc)}},
		{http.MethodPost, "/api/v1/actions/" + wire.ActionResolve,
			&model.PostActionIntegrationRequest{UserId: "ann", PostId: inc.CardPostID, Context: incidentButton(inc)}},
		{http.MethodPost, "/api/v1/actions/" + wire.ActionAckPage,
			&model.PostActionIntegrationRequest{UserId: "lea", PostId: pagePost, Context: map[string]any{wire.ContextPageID: pageID}}},
		{http.MethodPost, "/api/v1/actions/" + wire.ActionAckHandoff,
			&model.PostActionIntegrationRequest{UserId: "ian", PostId: "post1", Context: map[string]any{wire.ContextHandoffKey: "1"}}},
		{http.MethodPost, "/api/v1/actions/" + wire.ActionHotfixApprove,
			&model.PostActionIntegrationRequest{UserId: "quinn", PostId: "post1", Context: map[string]any{wire.ContextIncidentID: inc.ID, wire.ContextHotfix: "1"}}},
		{http.MethodPost, "/api/v1/dialogs/" + wire.DialogStart,
			&model.SubmitDialogRequest{UserId: "ann", TeamId: "team", ChannelId: "town", Submission: map[string]any{bot.FieldTitle: "Forged", bot.FieldSeverity: "S1"}}},
		{http.MethodPost, "/api/v1/dialogs/" + wire.DialogResolve,
			&model.SubmitDialogRequest{UserId: "ann", State: inc.ID, Submission: map[string]any{bot.FieldSummary: "forged"}}},
		{http.MethodGet, wire.IncidentsAutocompletePath, nil},
	} {
		for _, header := range [][]string{nil, {"Mattermost-User-Id", ""}} {
			r := e.do(c.method, c.path, "", c.body, header...)
			if r.code != http.StatusUnauthorized || strings.Contains(r.body, inc.ID) {
				t.Errorf("%s %s without a user (header %q): %d %q, want 401 telling nothing", c.method, c.path, header, r.code, r.body)
			}
		}
	}
	e.unchanged(t, before, "unauthenticated requests")
	if p := e.record(t, pageID); !p.AckedAt.IsZero() {
		t.Error("an unauthenticated request acknowledged the page")
	}
	if list, _, _ := e.store.ListActive(ctx, 0); len(list) != 1 {
		t.Errorf("%d incidents after an unauthenticated start", len(list))
	}
	if d := e.mm.opened(); len(d) != 0 {
		t.Errorf("dialogs opened: %v", d)
	}
}

// A button click's body may name the user only to agree with the header:
// another user there is a forged request, refused; a user id anywhere in
// the button's context is ignored. What is recorded is the header's user.
func TestButtonsActAsTheHeaderUserOnly(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t)
	before := e.snapshot(t, inc.ID)
	forged := &model.PostActionIntegrationRequest{UserId: "ann", PostId: inc.CardPostID, Context: incidentButton(inc)}
	if r := e.do(http.MethodPost, "/api/v1/actions/"+wire.ActionMitigate, "bob", forged); r.code != http.StatusForbidden {
		t.Fatalf("header bob, body ann: %d %q, want 403", r.code, r.body)
	}
	e.unchanged(t, before, "a click with a forged body user")

	ctxUser := incidentButton(inc)
	ctxUser["user_id"], ctxUser["actor"] = "ann", "ann"
	req := &model.PostActionIntegrationRequest{UserId: "bob", PostId: inc.CardPostID, Context: ctxUser}
	if msg := e.do(http.MethodPost, "/api/v1/actions/"+wire.ActionMitigate, "bob", req).ephemeral(t); !strings.Contains(msg, "marked mitigated") {
		t.Fatalf("bob's click: %q", msg)
	}
	ev := e.events(t, inc.ID, incident.EventMitigated)
	if len(ev) != 1 || ev[0].Actor != "bob" {
		t.Errorf("mitigated events %+v, want one by bob, the header's user", ev)
	}
}

// Card buttons act only from the incident's card, a post of the bot: a
// look-alike post of someone else, the bot's card of another incident and
// the bot's other posts of the incident are refused, before anything
// changes or any dialog opens.
func TestCardButtonsActOnlyFromTheIncidentsCard(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t)
	other := e.start(t)
	announcement := ""
	for id, p := range e.mm.posts {
		if p.ChannelId == "bc" && p.GetProp(wire.PropIncidentID) == inc.ID {
			announcement = id
		}
	}
	if announcement == "" {
		t.Fatal("no announcement post")
	}
	lookalike := e.mm.post("mallory", inc.ChannelID, model.StringInterface{wire.PropIncidentID: inc.ID})
	before := e.snapshot(t, inc.ID)
	for _, c := range []struct {
		name    string
		post    string
		context map[string]any
		code    int
	}{
		{"someone else's post with the card's props", lookalike, incidentButton(inc), http.StatusForbidden},
		{"the card of another incident", other.CardPostID, incidentButton(inc), http.StatusForbidden},
		{"the bot's announcement of the incident", announcement, incidentButton(inc), http.StatusForbidden},
		{"a post that does not exist", "nosuchpost", incidentButton(inc), http.StatusNotFound},
		{"no post", "", incidentButton(inc), http.StatusBadRequest},
		{"no incident in the context", inc.CardPostID, map[string]any{}, http.StatusBadRequest},
	} {
		for _, action := range []string{wire.ActionMitigate, wire.ActionResolve, wire.ActionSeverity, wire.ActionTakePrefix + "l2"} {
			cx := map[string]any{"selected_option": "S1"}
			for k, v := range c.context {
				cx[k] = v
			}
			if r := e.click(action, "ann", c.post, cx); r.code != c.code {
				t.Errorf("%s from %s: %d %q, want %d", action, c.name, r.code, r.body, c.code)
			}
		}
	}
	e.unchanged(t, before, "clicks on posts that are not the card")
	if d := e.mm.opened(); len(d) != 0 {
		t.Errorf("dialogs opened: %v", d)
	}
	if msg := e.click(wire.ActionMitigate, "ann", inc.CardPostID, incidentButton(inc)).ephemeral(t); !strings.Contains(msg, "marked mitigated") {
		t.Errorf("from the card: %q", msg)
	}
}

// Someone who cannot read a private incident's channel is told, for every
// button of the incident, that there is no such incident: nothing changes,
// no dialog opens, and the reply does not reveal the incident.
func TestIncidentButtonsRefuseWhoCannotSeeTheIncident(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t, "ann", "ian", "lea", "bob", "rob", "rita")
	if _, err := e.app.RequestHandover(ctx, "ian", inc, incident.RoleL1, "bob"); err != nil {
		t.Fatal(err)
	}
	inc = e.incident(t, inc.ID)
	handover := inc.Handovers[incident.RoleL1].PostID
	reminder := e.mm.post(botID, "dm-ian", model.StringInterface{wire.PropIncidentID: inc.ID, wire.PropReminder: true})
	before := e.snapshot(t, inc.ID)
	clicks := []struct{ action, post string }{
		{wire.ActionUpdate, inc.CardPostID},
		{wire.ActionResolve, inc.CardPostID},
		{wire.ActionHotfix, inc.CardPostID},
		{wire.ActionMitigate, inc.CardPostID},
		{wire.ActionReopen, inc.CardPostID},
		{wire.ActionSeverity, inc.CardPostID},
		{wire.ActionTakePrefix + "l2", inc.CardPostID},
		{wire.ActionAcceptPrefix + "l1", handover},
		{wire.ActionRemindUpdate, reminder},
		{wire.ActionSnoozePrefix + "30", reminder},
	}
	for _, c := range clicks {
		cx := incidentButton(inc)
		cx["selected_option"] = "S1"
		r := e.click(c.action, "mallory", c.post, cx)
		if r.code != http.StatusNotFound || !strings.Contains(r.body, "no incident #"+inc.ID) || strings.Contains(r.body, inc.Title) {
			t.Errorf("%s by an outsider: %d %q, want 404 no such incident", c.action, r.code, r.body)
		}
	}
	e.unchanged(t, before, "an outsider's clicks")
	if d := e.mm.opened(); len(d) != 0 {
		t.Errorf("dialogs opened for an outsider: %v", d)
	}
	// The same clicks by someone who may see the incident get through.
	for _, c := range clicks {
		cx := incidentButton(inc)
		cx["selected_option"] = "S1"
		if r := e.click(c.action, "bob", c.post, cx); r.code != http.StatusOK {
			t.Errorf("%s by bob: %d %q", c.action, r.code, r.body)
		}
	}
	if d := e.mm.opened(); len(d) != 4 {
		t.Errorf("dialogs opened for bob: %v, want update, resolve, hotfix and update", d)
	}
}

// A handover is accepted only by its named new holder, and only from its
// own post: not from the card, another role's handover post or an older
// handover post of the role.
func TestHandoverAcceptedOnlyByItsHolderFromItsPost(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t)
	if _, err := e.app.RequestHandover(ctx, "ian", inc, incident.RoleL1, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.RequestHandover(ctx, "ian", inc, incident.RoleIM, "sam"); err != nil {
		t.Fatal(err)
	}
	inc = e.incident(t, inc.ID)
	l1Post, imPost := inc.Handovers[incident.RoleL1].PostID, inc.Handovers[incident.RoleIM].PostID
	older := e.mm.post(botID, inc.ChannelID, model.StringInterface{wire.PropIncidentID: inc.ID, wire.PropHandoverRole: "l1"})
	before := e.snapshot(t, inc.ID)
	accept := wire.ActionAcceptPrefix + "l1"
	for name, post := range map[string]string{"the card": inc.CardPostID, "the IM handover post": imPost, "an older L1 handover post": older} {
		if r := e.click(accept, "bob", post, incidentButton(inc)); r.code != http.StatusForbidden {
			t.Errorf("accept from %s: %d %q, want 403", name, r.code, r.body)
		}
	}
	// A role without a pending handover is accepted from no post but a
	// handover post of that role.
	for name, post := range map[string]string{"the card": inc.CardPostID, "the L1 handover post": l1Post} {
		if r := e.click(wire.ActionAcceptPrefix+"l2", "bob", post, incidentButton(inc)); r.code != http.StatusForbidden {
			t.Errorf("accept second line from %s: %d %q, want 403", name, r.code, r.body)
		}
	}
	for _, who := range []string{"ann", "ian", "sam"} {
		if msg := e.click(accept, who, l1Post, incidentButton(inc)).ephemeral(t); !strings.Contains(msg, "only they can accept it") {
			t.Errorf("%s accepting bob's handover: %q", who, msg)
		}
	}
	e.unchanged(t, before, "refused acceptances")
	if msg := e.click(accept, "bob", l1Post, incidentButton(inc)).ephemeral(t); !strings.Contains(msg, "You are now First line") {
		t.Fatalf("bob accepting: %q", msg)
	}
	if got := e.incident(t, inc.ID); got.Roles[incident.RoleL1] != "bob" {
		t.Errorf("first line is %q after bob accepted", got.Roles[incident.RoleL1])
	}
}

// The card's take buttons give the clicker (the header's user, never the
// body's) a role nobody holds; a held role needs a handover.
func TestTakeButtonTakesOnlyAnOpenRoleForTheClicker(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t)
	before := e.snapshot(t, inc.ID)
	if msg := e.click(wire.ActionTakePrefix+"l1", "bob", inc.CardPostID, incidentButton(inc)).ephemeral(t); !strings.Contains(msg, "is held by <@lea>") {
		t.Errorf("bob taking lea's first line: %q", msg)
	}
	e.unchanged(t, before, "taking a held role")
	button := incidentButton(inc)
	button["user_id"] = "ann"
	req := &model.PostActionIntegrationRequest{UserId: "bob", PostId: inc.CardPostID, Context: button}
	if msg := e.do(http.MethodPost, "/api/v1/actions/"+wire.ActionTakePrefix+"l2", "bob", req).ephemeral(t); !strings.Contains(msg, "You are now Second line") {
		t.Fatalf("bob taking the open second line: %q", msg)
	}
	if got := e.incident(t, inc.ID); got.Roles[incident.RoleL2] != "bob" || got.Roles[incident.RoleL1] != "lea" {
		t.Errorf("roles %v, want bob on second line and lea still on first", got.Roles)
	}
}

// Update reminder buttons act only from a reminder post of the bot.
func TestReminderButtonsActOnlyFromAReminder(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t)
	notReminder := e.mm.post(botID, "dm-ian", model.StringInterface{wire.PropIncidentID: inc.ID})
	someoneElses := e.mm.post("mallory", "dm-ian", model.StringInterface{wire.PropIncidentID: inc.ID, wire.PropReminder: true})
	anotherIncidents := e.mm.post(botID, "dm-ian", model.StringInterface{wire.PropIncidentID: e.start(t).ID, wire.PropReminder: true})
	before := e.snapshot(t, inc.ID)
	for name, post := range map[string]string{"the card": inc.CardPostID, "a bot post without the reminder mark": notReminder,
		"someone else's post": someoneElses, "a reminder of another incident": anotherIncidents} {
		for _, action := range []string{wire.ActionSnoozePrefix + "30", wire.ActionRemindUpdate} {
			if r := e.click(action, "ian", post, incidentButton(inc)); r.code != http.StatusForbidden {
				t.Errorf("%s from %s: %d %q, want 403", action, name, r.code, r.body)
			}
		}
	}
	e.unchanged(t, before, "reminder buttons elsewhere")
	if d := e.mm.opened(); len(d) != 0 {
		t.Errorf("dialogs opened: %v", d)
	}
	reminder := e.mm.post(botID, "dm-ian", model.StringInterface{wire.PropIncidentID: inc.ID, wire.PropReminder: true})
	if msg := e.click(wire.ActionSnoozePrefix+"30", "ian", reminder, incidentButton(inc)).ephemeral(t); !strings.Contains(msg, "snoozed for 30m") {
		t.Errorf("snooze from the reminder: %q", msg)
	}
}

// record reads page id.
func (e *routeEnv) record(t *testing.T, id string) *app.Page {
	t.Helper()
	p, err := e.app.PageRecord(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A page is acknowledged only from one of its own posts, by someone it was
// sent to; the body cannot stand in for the paged person.
func TestPageAcknowledgedOnlyFromItsPostsByItsTarget(t *testing.T) {
	e := newRouteEnv(t)
	e.start(t)
	other := e.start(t)
	pageID, otherPage := e.mm.pages[0], e.mm.pages[1]
	p := e.record(t, pageID)
	if p.Target().UserID != "lea" || len(p.Posts) != 2 {
		t.Fatalf("page %+v, want lea paged with two posts", p)
	}
	button := map[string]any{wire.ContextPageID: pageID}
	lookalike := e.mm.post("mallory", "rota", model.StringInterface{wire.PropPageID: pageID})
	unrecorded := e.mm.post(botID, "rota", model.StringInterface{wire.PropPageID: pageID})
	for _, c := range []struct {
		name, post string
		context    map[string]any
		code       int
	}{
		{"someone else's post with the page's id", lookalike, button, http.StatusForbidden},
		{"a post of another page", e.record(t, otherPage).Posts[0].ID, button, http.StatusForbidden},
		{"the card", other.CardPostID, button, http.StatusForbidden},
		{"a bot post with the page's id that is none of its posts", unrecorded, button, http.StatusForbidden},
		// Not one the page records: refused without reading the post.
		{"a post that does not exist", "nosuchpost", button, http.StatusForbidden},
		{"no page in the context", p.Posts[0].ID, map[string]any{}, http.StatusBadRequest},
	} {
		if r := e.click(wire.ActionAckPage, "lea", c.post, c.context); r.code != c.code {
			t.Errorf("acknowledge from %s: %d %q, want %d", c.name, r.code, r.body, c.code)
		}
	}
	forged := &model.PostActionIntegrationRequest{UserId: "lea", PostId: p.Posts[0].ID, Context: button}
	if r := e.do(http.MethodPost, "/api/v1/actions/"+wire.ActionAckPage, "mallory", forged); r.code != http.StatusForbidden {
		t.Errorf("header mallory, body lea: %d %q, want 403", r.code, r.body)
	}
	for _, who := range []string{"mallory", "ann", "ian"} {
		if msg := e.click(wire.ActionAckPage, who, p.Posts[1].ID, button).ephemeral(t); !strings.Contains(msg, "can acknowledge it") {
			t.Errorf("%s acknowledging lea's page: %q", who, msg)
		}
	}
	if got := e.record(t, pageID); !got.AckedAt.IsZero() || got.Revision != p.Revision {
		t.Fatalf("refused acknowledgements changed the page: %+v", got)
	}
	if msg := e.click(wire.ActionAckPage, "lea", p.Posts[1].ID, button).ephemeral(t); !strings.Contains(msg, "Thanks, acknowledged") {
		t.Fatalf("lea acknowledging from her direct message: %q", msg)
	}
	if got := e.record(t, pageID); got.AckedBy != "lea" {
		t.Errorf("page acknowledged by %q, want lea", got.AckedBy)
	}
	if got := e.record(t, otherPage); !got.AckedAt.IsZero() {
		t.Error("the other page was acknowledged too")
	}
}

// While a notice is being sent its new posts are not recorded yet, so the
// page takes a click from any post of the bot that carries its id; still
// not from someone else's post, nor from a post of another page.
func TestPageAcknowledgedDuringASendOnlyFromTheBotsPostOfIt(t *testing.T) {
	e := newRouteEnv(t)
	e.start(t)
	var during []reply
	e.mm.onNotify = func(p *app.Page) {
		if rec := e.record(t, p.ID); rec.Sending == nil {
			t.Errorf("page %+v: no send in flight", rec)
		}
		button := map[string]any{wire.ContextPageID: p.ID}
		lookalike := e.mm.post("mallory", "rota", model.StringInterface{wire.PropPageID: p.ID})
		another := e.mm.post(botID, "rota", model.StringInterface{wire.PropPageID: e.mm.pages[0]})
		during = append(during, e.click(wire.ActionAckPage, "lea", lookalike, button), e.click(wire.ActionAckPage, "lea", another, button))
	}
	e.start(t)
	if len(during) != 2 {
		t.Fatalf("%d clicks during the send", len(during))
	}
	for i, what := range []string{"someone else's post", "another page's post"} {
		if r := during[i]; r.code != http.StatusForbidden {
			t.Errorf("acknowledge from %s during a send: %d %q, want 403", what, r.code, r.body)
		}
	}
	for _, id := range e.mm.pages {
		if got := e.record(t, id); !got.AckedAt.IsZero() {
			t.Errorf("page %s acknowledged", id)
		}
	}
}

// A rota handoff is acknowledged only from its announcement, by the people
// it puts on duty.
func TestHandoffAcknowledgedOnlyFromItsPostByItsHolders(t *testing.T) {
	e := newRouteEnv(t)
	e.app.Tick(ctx) // the first tick only remembers the week in progress
	week := time.Date(2026, 11, 9, 9, 0, 0, 0, time.UTC)
	e.setNow(week.Add(time.Second))
	e.app.Tick(ctx)
	key := app.HandoffKey(week)
	h, err := e.app.Handoff(ctx, key)
	if err != nil || h.PostID == "" || h.Holders[incident.RoleIM] != "ian" {
		t.Fatalf("handoff %+v, %v; want it announced with ian on duty", h, err)
	}
	button := map[string]any{wire.ContextHandoffKey: key}
	lookalike := e.mm.post("mallory", "rota", model.StringInterface{wire.PropHandoffKey: key})
	copyOfIt := e.mm.post(botID, "rota", model.StringInterface{wire.PropHandoffKey: key})
	earlier := e.mm.post(botID, "rota", model.StringInterface{wire.PropHandoffKey: app.HandoffKey(week.AddDate(0, 0, -7))})
	for _, c := range []struct {
		name, post string
		context    map[string]any
		code       int
	}{
		{"someone else's post with the handoff's key", lookalike, button, http.StatusForbidden},
		{"a bot post with the key that is not the announcement", copyOfIt, button, http.StatusForbidden},
		{"the announcement of another week", earlier, button, http.StatusForbidden},
		{"a post that does not exist", "nosuchpost", button, http.StatusNotFound},
		{"no handoff in the context", h.PostID, map[string]any{}, http.StatusBadRequest},
	} {
		if r := e.click(wire.ActionAckHandoff, "ian", c.post, c.context); r.code != c.code {
			t.Errorf("acknowledge from %s: %d %q, want %d", c.name, r.code, r.body, c.code)
		}
	}
	for _, who := range []string{"mallory", "ann"} {
		if msg := e.click(wire.ActionAckHandoff, who, h.PostID, button).ephemeral(t); !strings.Contains(msg, "only the people this handoff puts on duty") {
			t.Errorf("%s acknowledging: %q", who, msg)
		}
	}
	if got, _ := e.app.Handoff(ctx, key); len(got.Acks) != 0 {
		t.Fatalf("refused acknowledgements were recorded: %v", got.Acks)
	}
	if msg := e.click(wire.ActionAckHandoff, "ian", h.PostID, button).ephemeral(t); !strings.Contains(msg, "Thanks, acknowledged") {
		t.Fatalf("ian acknowledging: %q", msg)
	}
	if got, _ := e.app.Handoff(ctx, key); len(got.Acks) != 1 || got.Acks["ian"].IsZero() {
		t.Errorf("acknowledgements %v, want ian's", got.Acks)
	}
}

// hotfixButton is the context of a hotfix sign-off button.
func hotfixButton(inc *incident.Incident, n int, group, stage string) map[string]any {
	return map[string]any{wire.ContextIncidentID: inc.ID, wire.ContextHotfix: strconv.Itoa(n), wire.ContextGroup: group, wire.ContextStage: stage}
}

// hotfix reads hotfix n of inc.
func (e *routeEnv) hotfix(t *testing.T, inc *incident.Incident, n int) *hotfix.Hotfix {
	t.Helper()
	b, err := e.app.Hotfixes(ctx, inc)
	if err != nil {
		t.Fatal(err)
	}
	h, err := b.Get(n)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Hotfix buttons act only from the hotfix's own sign-off post; a group is
// signed for only by its members, whatever group the button names; only
// the release manager marks the fix deployed; and someone who cannot see
// the incident is not told it exists.
func TestHotfixButtonsCheckThePostAndWhoSigns(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t, "ann", "ian", "lea", "bob", "rob", "rita", "quinn", "quentin", "sam")
	requested, err := e.app.RequestHotfix(ctx, inc, app.HotfixRequest{Actor: "ann", Description: "roll back the cache"})
	if err != nil {
		t.Fatal(err)
	}
	inc = e.incident(t, inc.ID)
	h := e.hotfix(t, inc, requested.N) // with the sign-off post its follow-up made
	staging := string(hotfix.StageStaging)
	qa := hotfixButton(inc, h.N, "qa", staging)
	lookalike := e.mm.post("mallory", inc.ChannelID, model.StringInterface{wire.PropIncidentID: inc.ID, wire.PropHotfix: "1"})
	copyOfIt := e.mm.post(botID, inc.ChannelID, model.StringInterface{wire.PropIncidentID: inc.ID, wire.PropHotfix: "1"})
	for _, c := range []struct {
		name, post string
		context    map[string]any
		code       int
	}{
		{"someone else's post with the hotfix's props", lookalike, qa, http.StatusForbidden},
		{"a bot post with the props that is not the sign-off post", copyOfIt, qa, http.StatusForbidden},
		{"the card", inc.CardPostID, qa, http.StatusForbidden},
		{"the post, for another hotfix", h.PostID, hotfixButton(inc, 2, "qa", staging), http.StatusForbidden},
		{"a post that does not exist", "nosuchpost", qa, http.StatusNotFound},
	} {
		for _, action := range []string{wire.ActionHotfixApprove, wire.ActionHotfixReject, wire.ActionHotfixDeployed} {
			if r := e.click(action, "quinn", c.post, c.context); r.code != c.code {
				t.Errorf("%s from %s: %d %q, want %d", action, c.name, r.code, r.body, c.code)
			}
		}
	}
	for _, action := range []string{wire.ActionHotfixApprove, wire.ActionHotfixReject, wire.ActionHotfixDeployed} {
		if r := e.click(action, "mallory", h.PostID, qa); r.code != http.StatusNotFound || !strings.Contains(r.body, "no incident #") {
			t.Errorf("%s by an outsider: %d %q, want 404 no such incident", action, r.code, r.body)
		}
	}
	// Not a member of the group the button names, or its requester:
	// refused, and no dialog asks for a reason.
	for who, why := range map[string]string{"sam": "only members of qa sign for it", "rob": "only members of qa sign for it",
		"rita": "only members of qa sign for it", "ann": "four eyes"} {
		for _, action := range []string{wire.ActionHotfixApprove, wire.ActionHotfixReject} {
			if msg := e.click(action, who, h.PostID, qa).ephemeral(t); !strings.Contains(msg, why) {
				t.Errorf("%s by %s for qa: %q, want %q", action, who, msg, why)
			}
		}
	}
	forged := &model.PostActionIntegrationRequest{UserId: "quinn", PostId: h.PostID, Context: qa}
	if r := e.do(http.MethodPost, "/api/v1/actions/"+wire.ActionHotfixApprove, "sam", forged); r.code != http.StatusForbidden {
		t.Errorf("header sam, body quinn: %d %q, want 403", r.code, r.body)
	}
	// A rejection typed into a dialog names its group in the state: a
	// non-member's is refused too.
	state := strings.Join([]string{inc.ID, "1", staging, "qa"}, "/")
	var resp model.SubmitDialogResponse
	r := e.submit(wire.DialogHotfixReject, "sam", &model.SubmitDialogRequest{UserId: "quinn", State: state, Submission: map[string]any{wire.FieldReason: "no"}})
	if err := json.Unmarshal([]byte(r.body), &resp); err != nil || resp.Error == "" && len(resp.Errors) == 0 {
		t.Errorf("sam's rejection dialog for qa: %d %q, want an error", r.code, r.body)
	}
	if got := e.hotfix(t, inc, h.N); len(got.Signoffs) != 0 || got.Status != hotfix.StatusStaging {
		t.Fatalf("refused sign-offs were recorded: %+v", got)
	}
	if d := e.mm.opened(); len(d) != 0 {
		t.Errorf("dialogs opened: %v", d)
	}

	if msg := e.click(wire.ActionHotfixReject, "quentin", h.PostID, qa).ephemeral(t); msg != "" {
		t.Errorf("quentin's reject: %q", msg)
	}
	if d := e.mm.opened(); !slices.Equal(d, []string{"reject-qa:" + inc.ID}) {
		t.Errorf("dialogs opened: %v, want quentin's rejection dialog", d)
	}
	for who, group := range map[string]string{"quinn": "qa", "sam": "support"} {
		if msg := e.click(wire.ActionHotfixApprove, who, h.PostID, hotfixButton(inc, h.N, group, staging)).ephemeral(t); !strings.Contains(msg, "You approved") {
			t.Fatalf("%s approving for %s: %q", who, group, msg)
		}
	}
	if got := e.hotfix(t, inc, h.N); got.Status != hotfix.StatusReady {
		t.Fatalf("after both groups approved: %+v", got)
	}
	rm := h.ReleaseManager
	for _, who := range []string{"quinn", "ann", "ian"} {
		if msg := e.click(wire.ActionHotfixDeployed, who, h.PostID, qa).ephemeral(t); msg == "" || strings.Contains(msg, "marked deployed") {
			t.Errorf("%s marking deployed: %q, want a refusal", who, msg)
		}
	}
	if got := e.hotfix(t, inc, h.N); got.Status != hotfix.StatusReady {
		t.Fatalf("someone other than the release manager deployed: %+v", got)
	}
	if msg := e.click(wire.ActionHotfixDeployed, rm, h.PostID, qa).ephemeral(t); !strings.Contains(msg, "marked deployed") {
		t.Errorf("the release manager %s marking deployed: %q", rm, msg)
	}
}

// A sign-off post pressed the moment it appears, before its follow-up
// linked it to the hotfix, takes the click; a bot post of the hotfix in
// another channel still does not.
func TestHotfixButtonWorksBeforeItsPostIsLinked(t *testing.T) {
	e := newRouteEnv(t)
	inc := e.start(t, "ann", "ian", "lea", "bob", "rob", "rita", "quinn", "quentin", "sam")
	requested, err := e.app.RequestHotfix(ctx, inc, app.HotfixRequest{Actor: "ann", Description: "roll back the cache"})
	if err != nil {
		t.Fatal(err)
	}
	inc = e.incident(t, inc.ID)
	h := e.hotfix(t, inc, requested.N)
	doc := "hotfix/v1/" + inc.ID
	raw, err := e.store.GetDoc(ctx, doc)
	if err != nil || !strings.Contains(string(raw), `"post_id":"`+h.PostID+`"`) {
		t.Fatalf("hotfix document %s: %v", raw, err)
	}
	unlinked := []byte(strings.Replace(string(raw), `"post_id":"`+h.PostID+`",`, "", 1))
	if ok, err := e.store.CompareAndSetDoc(ctx, doc, raw, unlinked); err != nil || !ok || e.hotfix(t, inc, h.N).PostID != "" {
		t.Fatalf("unlink the sign-off post: %v, %v", ok, err)
	}
	qa := hotfixButton(inc, h.N, "qa", string(hotfix.StageStaging))
	elsewhere := e.mm.post(botID, "otherchannel", model.StringInterface{wire.PropIncidentID: inc.ID, wire.PropHotfix: "1"})
	if r := e.click(wire.ActionHotfixApprove, "quinn", elsewhere, qa); r.code != http.StatusForbidden {
		t.Errorf("a bot post of the hotfix in another channel: %d %q, want 403", r.code, r.body)
	}
	if msg := e.click(wire.ActionHotfixApprove, "quinn", h.PostID, qa).ephemeral(t); !strings.Contains(msg, "You approved") {
		t.Errorf("the unlinked sign-off post: %q", msg)
	}
}

// Dialog submissions act as the header's user: the body's user id is
// ignored, the team is checked for the header's user, and a private
// incident named in the state is not found for someone who cannot see it.
func TestDialogsActAsTheHeaderUser(t *testing.T) {
	e := newRouteEnv(t)
	start := func(header, bodyUser string) reply {
		return e.submit(wire.DialogStart, header, &model.SubmitDialogRequest{UserId: bodyUser, TeamId: "team", ChannelId: "town",
			Submission: map[string]any{bot.FieldTitle: "Payments down", bot.FieldSeverity: "S3"}})
	}
	r := start("mallory", "ann")
	var resp model.SubmitDialogResponse
	if err := json.Unmarshal([]byte(r.body), &resp); err != nil || !strings.Contains(resp.Error, "team you belong to") {
		t.Errorf("mallory (not in the team) starting as ann: %d %q", r.code, r.body)
	}
	if list, _, _ := e.store.ListActive(ctx, 0); len(list) != 0 {
		t.Fatalf("an incident was started: %+v", list[0])
	}
	if r := start("bob", "ann"); r.code != http.StatusOK || r.body != "" {
		t.Fatalf("bob starting: %d %q", r.code, r.body)
	}
	list, _, _ := e.store.ListActive(ctx, 0)
	if len(list) != 1 || list[0].CreatedBy != "bob" {
		t.Fatalf("incidents %+v, want one started by bob", list)
	}
	if len(e.mm.ephemeral) != 1 || !strings.HasPrefix(e.mm.ephemeral[0], "bob:Incident") {
		t.Errorf("confirmations %v, want one to bob", e.mm.ephemeral)
	}

	// A rota chosen in the dialog staffs the incident; one that is not
	// there is refused, naming the rotas there are.
	if err := e.app.CreateRota(ctx, "root", "payments", nil); err != nil {
		t.Fatal(err)
	}
	withRota := func(rota string) reply {
		return e.submit(wire.DialogStart, "bob", &model.SubmitDialogRequest{TeamId: "team", ChannelId: "town",
			Submission: map[string]any{bot.FieldTitle: "Cards down", bot.FieldSeverity: "S3", bot.FieldRota: rota}})
	}
	if r := withRota("payments"); r.code != http.StatusOK || r.body != "" {
		t.Fatalf("start with rota payments: %d %q", r.code, r.body)
	}
	if list, _, _ := e.store.ListActive(ctx, 1); len(list) != 1 || list[0].Rota != "payments" {
		t.Errorf("the dialog's rota: %+v", list)
	}
	r = withRota("nosuch")
	if err := json.Unmarshal([]byte(r.body), &resp); err != nil || !strings.Contains(resp.Error, "main, payments") {
		t.Errorf("an unknown rota: %d %q", r.code, r.body)
	}

	inc := e.start(t, "ann", "ian", "lea")
	before := e.snapshot(t, inc.ID)
	for _, c := range []struct {
		dialog string
		sub    map[string]any
	}{
		{wire.DialogUpdate, map[string]any{bot.FieldText: "forged update"}},
		{wire.DialogResolve, map[string]any{bot.FieldSummary: "forged resolution"}},
		{wire.DialogHotfix, map[string]any{wire.FieldDescription: "forged fix"}},
	} {
		r := e.submit(c.dialog, "mallory", &model.SubmitDialogRequest{UserId: "ann", State: inc.ID, ChannelId: inc.ChannelID, Submission: c.sub})
		var resp model.SubmitDialogResponse
		if err := json.Unmarshal([]byte(r.body), &resp); err != nil || !strings.Contains(resp.Error, "no incident #"+inc.ID) {
			t.Errorf("%s dialog by an outsider, body naming ann: %d %q, want no such incident", c.dialog, r.code, r.body)
		}
	}
	e.unchanged(t, before, "an outsider's dialogs")
	if b, _ := e.app.Hotfixes(ctx, inc); b.Active() != nil {
		t.Errorf("an outsider requested a hotfix: %+v", b.Active())
	}
	if r := e.submit(wire.DialogUpdate, "lea", &model.SubmitDialogRequest{UserId: "ann", State: inc.ID, Submission: map[string]any{bot.FieldText: "rolling back"}}); r.code != http.StatusOK || r.body != "" {
		t.Fatalf("lea's update: %d %q", r.code, r.body)
	}
	if ev := e.events(t, inc.ID, incident.EventStatusUpdate); len(ev) != 1 || ev[0].Actor != "lea" {
		t.Errorf("status updates %+v, want one by lea", ev)
	}
}

// The incident autocomplete lists only the incidents the user can see.
func TestAutocompleteListsOnlyWhatTheUserCanSee(t *testing.T) {
	e := newRouteEnv(t)
	open := e.start(t)
	private := e.start(t, "ann")
	ids := func(user string) []string {
		t.Helper()
		r := e.do(http.MethodGet, wire.IncidentsAutocompletePath, user, nil)
		var items []model.AutocompleteListItem
		if err := json.Unmarshal([]byte(r.body), &items); r.code != http.StatusOK || err != nil {
			t.Fatalf("autocomplete for %s: %d %q", user, r.code, r.body)
		}
		var out []string
		for _, it := range items {
			out = append(out, it.Item)
		}
		slices.Sort(out)
		return out
	}
	if got, want := ids("ann"), []string{open.ID, private.ID}; !slices.Equal(got, want) {
		t.Errorf("ann sees %v, want %v", got, want)
	}
	if got := ids("bob"); !slices.Equal(got, []string{open.ID}) {
		t.Errorf("bob sees %v, want only %s", got, open.ID)
	}
}

// The alert webhook takes no session: only the source's token opens
// incidents. Without it, with the other source's, a wrong one or one in
// the URL, nothing is stored, whoever the server says is logged in.
func TestAlertWebhookNeedsTheSourcesToken(t *testing.T) {
	e := newRouteEnv(t)
	body := []byte(`{"status":"firing","alerts":[{"status":"firing","fingerprint":"f00d",
		"labels":{"alertname":"DiskFull"},"annotations":{"summary":"Disk full on db-1"}}]}`)
	for _, c := range []struct {
		name, query, user string
		headers           []string
	}{
		{"no token", "source=alertmanager", "", nil},
		{"no token, a logged-in admin", "source=alertmanager", "root", nil},
		{"a wrong token", "source=alertmanager", "", []string{TokenHeader, amToken + "x"}},
		{"the other source's token", "source=alertmanager", "", []string{TokenHeader, gfToken}},
		{"a wrong bearer token", "source=grafana", "", []string{"Authorization", "Bearer " + amToken}},
		{"the token in the URL", "source=alertmanager&token=" + amToken, "", nil},
		{"an unknown source", "source=nagios", "", []string{TokenHeader, amToken}},
	} {
		r := e.do(http.MethodPost, AlertsPath+"?"+c.query, c.user, body, c.headers...)
		if r.code != http.StatusUnauthorized {
			t.Errorf("%s: %d %q, want 401", c.name, r.code, r.body)
		}
	}
	if list, _, _ := e.store.ListActive(ctx, 0); len(list) != 0 {
		t.Fatalf("a refused alert opened %+v", list[0])
	}
	r := e.do(http.MethodPost, AlertsPath+"?source=alertmanager", "", body, TokenHeader, amToken)
	var res app.AlertResult
	if err := json.Unmarshal([]byte(r.body), &res); r.code != http.StatusOK || err != nil || res.Opened != 1 {
		t.Fatalf("with the token: %d %q", r.code, r.body)
	}
	if list, _, _ := e.store.ListActive(ctx, 0); len(list) != 1 || list[0].CreatedBy != botID {
		t.Errorf("incidents %+v, want one opened by the bot", list)
	}
}
