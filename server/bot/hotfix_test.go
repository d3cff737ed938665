package bot

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// postsAPI records the posts the bot makes. Users are named by their ids
// and channels "incident-<id>"; posting to a channel in fail fails. Any
// other plugin API call panics (nil embedded interface).
type postsAPI struct {
	plugin.API
	mu      sync.Mutex
	created []*model.Post
	updated []*model.Post
	fail    map[string]bool
}

func (f *postsAPI) GetUser(id string) (*model.User, *model.AppError) {
	return &model.User{Id: id, Username: id}, nil
}

func (f *postsAPI) GetChannel(id string) (*model.Channel, *model.AppError) {
	return &model.Channel{Id: id, Name: "incident-" + id}, nil
}

func (f *postsAPI) CreatePost(p *model.Post) (*model.Post, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[p.ChannelId] {
		return nil, model.NewAppError("CreatePost", "fake.fail", nil, "", 500)
	}
	p = p.Clone()
	p.Id = fmt.Sprintf("created%d", len(f.created))
	f.created = append(f.created, p)
	return p, nil
}

func (f *postsAPI) GetPost(id string) (*model.Post, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.created {
		if p.Id == id {
			return p.Clone(), nil
		}
	}
	return nil, model.NewAppError("GetPost", "fake.notfound", nil, "", 404)
}

func (f *postsAPI) UpdatePost(p *model.Post) (*model.Post, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updated = append(f.updated, p.Clone())
	return p, nil
}

var hotfixAt = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// testHotfix: rita requested hotfix 2, which fred made; fred would have
// been release manager, so rm releases it. fred is in qa but may not sign.
func testHotfix(t *testing.T) (*Bot, *postsAPI, *incident.Incident, *hotfix.Hotfix, *hotfix.Groups) {
	t.Helper()
	api := &postsAPI{fail: map[string]bool{}}
	b := New(api, "plugin.id", "botid")
	inc := &incident.Incident{ID: "k3x9qd", Title: "Checkout @here down", Severity: incident.S1, ChannelID: "incch"}
	g := &hotfix.Groups{}
	for name, ms := range map[string][]string{"qa": {"fred", "ann", "bob"}, "support": {"cat", "ann"}} {
		if err := g.Set(name, ms); err != nil {
			t.Fatal(err)
		}
	}
	h := &hotfix.Hotfix{N: 2, IncidentID: inc.ID, Description: "Raise the pool size @channel", RequestedBy: "rita", Author: "fred",
		RequestedAt: hotfixAt, ReleaseManager: "rm", RMNote: hotfix.SubstituteNote("fred", "rm"),
		Groups: []string{"qa", "support"}, Status: hotfix.StatusStaging, PostID: "hfpost", ChannelID: "incch"}
	return b, api, inc, h, g
}

func sign(t *testing.T, h *hotfix.Hotfix, g *hotfix.Groups, min int, user, group string, approve bool, reason string) []incident.Event {
	t.Helper()
	evs, err := h.Sign(hotfixAt.Add(time.Duration(min)*time.Minute), user, group, approve, reason, g)
	if err != nil {
		t.Fatalf("%s signs %s: %v", user, group, err)
	}
	return evs
}

func deploy(t *testing.T, h *hotfix.Hotfix) incident.Event {
	t.Helper()
	ev, err := h.Deploy(hotfixAt.Add(time.Hour), "rm")
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

var actionID = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// buttons lists a post's buttons as "id:name:group:stage", checking what
// every button must have.
func buttons(t *testing.T, p *model.Post) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for _, a := range p.Attachments()[0].Actions {
		if !actionID.MatchString(a.Id) || seen[a.Id] {
			t.Errorf("button id %q is not letters and digits, or not unique", a.Id)
		}
		seen[a.Id] = true
		action := strings.TrimRight(a.Id, "0123456789")
		c := a.Integration.Context
		if a.Integration.URL != "/plugins/plugin.id/api/v1/actions/"+action || c[wire.ContextIncidentID] != "k3x9qd" || c[wire.ContextHotfix] != "2" {
			t.Errorf("button %s: url %s, context %v", a.Id, a.Integration.URL, c)
		}
		out = append(out, fmt.Sprintf("%s:%s:%v:%v", a.Id, a.Name, c[wire.ContextGroup], c[wire.ContextStage]))
	}
	return out
}

// mentions reports whether s really mentions @user (not quietly).
func mentions(s, user string) bool {
	return regexp.MustCompile(`@` + user + `\b`).MatchString(s)
}

func TestPostHotfixMentionsWhoMustActButNotTheFixer(t *testing.T) {
	b, api, inc, h, g := testHotfix(t)
	id, err := b.PostHotfix(t.Context(), inc, h, g)
	if err != nil || id != "created0" || len(api.created) != 1 {
		t.Fatalf("PostHotfix = %q, %v; posts %v", id, err, api.created)
	}
	p := api.created[0]
	if p.UserId != "botid" || p.ChannelId != "incch" || p.GetProp(wire.PropIncidentID) != "k3x9qd" || p.GetProp(wire.PropHotfix) != "2" {
		t.Errorf("post = %+v", p)
	}
	for _, w := range []string{
		"#### :hammer_and_wrench: Hotfix 2 for incident #k3x9qd **Checkout @\u200bhere down**",
		"Requested by @\u200brita · fix by @\u200bfred · release manager @rm\n:information_source: @\u200bfred made the fix and may not release it (four eyes); @\u200brm is the next",
		"Staging sign-off needed from: **qa** (@ann, @bob), **support** (@cat, @ann)",
		"> Raise the pool size @\u200bchannel",
	} {
		if !strings.Contains(p.Message, w) {
			t.Errorf("message lacks %q:\n%s", w, p.Message)
		}
	}
	for _, u := range []string{"rm", "ann", "bob", "cat"} {
		if !mentions(p.Message, u) {
			t.Errorf("message does not mention %s:\n%s", u, p.Message)
		}
	}
	for _, u := range []string{"fred", "rita"} {
		if mentions(p.Message, u) {
			t.Errorf("message mentions %s:\n%s", u, p.Message)
		}
	}
	att := p.Attachments()[0]
	if bareMassMention(p.Message) || bareMassMention(att.Text) {
		t.Errorf("a mass mention survives:\n%s\n%s", p.Message, att.Text)
	}
	want := "Status: **waiting for staging sign-off**\n**Staging**\n⏳ qa: waiting for @\u200bann, @\u200bbob\n⏳ support: waiting for @\u200bcat, @\u200bann\n" +
		"Not deployed yet: the release manager @\u200brm presses Deployed after staging is signed off\n**After deploy**: not started"
	if att.Title != "Sign-off" || att.Text != want || att.Color != hotfixPendingColor {
		t.Errorf("attachment %q (%s), want text\n%s", att.Text, att.Color, want)
	}
	got := strings.Join(buttons(t, p), " ")
	if want := "hotfixapprove0:Approve qa:qa:staging hotfixreject0:Reject qa:qa:staging " +
		"hotfixapprove1:Approve support:support:staging hotfixreject1:Reject support:support:staging"; got != want {
		t.Errorf("buttons\n%s\nwant\n%s", got, want)
	}
	for _, a := range att.Actions {
		if style := map[bool]string{true: "good", false: "danger"}[strings.HasPrefix(a.Id, wire.ActionHotfixApprove)]; a.Style != style {
			t.Errorf("%s style %q, want %q", a.Id, a.Style, style)
		}
	}
}

func TestUpdateHotfixFollowsTheSignoff(t *testing.T) {
	b, api, inc, h, g := testHotfix(t)
	if _, err := b.PostHotfix(t.Context(), inc, h, g); err != nil {
		t.Fatal(err)
	}
	posted := api.created[0].Message
	update := func() *model.Post {
		t.Helper()
		if err := b.UpdateHotfix(t.Context(), inc, h, g); err != nil {
			t.Fatal(err)
		}
		p := api.updated[len(api.updated)-1]
		if p.Id != "hfpost" || p.ChannelId != "incch" || p.Message != posted || p.GetProp(wire.PropIncidentID) != "k3x9qd" || p.GetProp(wire.PropHotfix) != "2" {
			t.Errorf("update of %s: id %q, channel %q, props %v, message changed: %t", h.Status, p.Id, p.ChannelId, p.GetProps(), p.Message != posted)
		}
		return p
	}

	// ann signed qa, so only cat is left for support: one person, one group.
	sign(t, h, g, 5, "ann", "qa", true, "")
	p := update()
	att := p.Attachments()[0]
	for _, w := range []string{"✅ qa: approved by @\u200bann at 2026-11-23 10:05 UTC", "⏳ support: waiting for @\u200bcat\n"} {
		if !strings.Contains(att.Text, w) {
			t.Errorf("attachment lacks %q:\n%s", w, att.Text)
		}
	}
	if got := strings.Join(buttons(t, p), " "); got != "hotfixapprove1:Approve support:support:staging hotfixreject1:Reject support:support:staging" {
		t.Errorf("after qa approved: buttons %s", got)
	}

	sign(t, h, g, 7, "cat", "support", true, "")
	p = update()
	if got := strings.Join(buttons(t, p), " "); got != "hotfixdeployed:Deployed:<nil>:<nil>" {
		t.Errorf("ready: buttons %s", got)
	}
	if att := p.Attachments()[0]; !strings.Contains(att.Text, "⏳ Waiting for the release manager @\u200brm to deploy and press Deployed") {
		t.Errorf("ready: attachment\n%s", att.Text)
	}

	deploy(t, h)
	p = update()
	if got := strings.Join(buttons(t, p), " "); got != "hotfixapprove0:Approve qa:qa:after_deploy hotfixreject0:Reject qa:qa:after_deploy "+
		"hotfixapprove1:Approve support:support:after_deploy hotfixreject1:Reject support:support:after_deploy" {
		t.Errorf("verifying: buttons %s", got)
	}
	sign(t, h, g, 65, "bob", "qa", true, "")
	sign(t, h, g, 66, "ann", "support", true, "")
	p = update()
	att = p.Attachments()[0]
	want := "Status: **signed off after deploy**\n**Staging**\n" +
		"✅ qa: approved by @\u200bann at 2026-11-23 10:05 UTC\n✅ support: approved by @\u200bcat at 2026-11-23 10:07 UTC\n" +
		"🚀 Deployed by @\u200brm at 2026-11-23 11:00 UTC\n**After deploy**\n" +
		"✅ qa: approved by @\u200bbob at 2026-11-23 11:05 UTC\n✅ support: approved by @\u200bann at 2026-11-23 11:06 UTC\n" +
		"✅ Signed off after deploy at 2026-11-23 11:06 UTC"
	if att.Text != want || len(att.Actions) != 0 || att.Color != hotfixDoneColor {
		t.Errorf("done: attachment %q (%s, %d buttons), want\n%s", att.Text, att.Color, len(att.Actions), want)
	}
}

func TestHotfixPostWhenRejectedOrCancelled(t *testing.T) {
	b, api, inc, h, g := testHotfix(t)
	sign(t, h, g, 5, "cat", "support", false, "500s on /pay @all")
	if err := b.UpdateHotfix(t.Context(), inc, h, g); err != nil {
		t.Fatal(err)
	}
	att := api.updated[0].Attachments()[0]
	for _, w := range []string{
		"➖ qa: not signed",
		"❌ support: rejected by @\u200bcat at 2026-11-23 10:05 UTC: 500s on /pay @\u200ball",
		"\nNot deployed\n",
		"❌ Rejected by @\u200bcat at 2026-11-23 10:05 UTC: 500s on /pay @\u200ball",
	} {
		if !strings.Contains(att.Text, w) {
			t.Errorf("rejected: attachment lacks %q:\n%s", w, att.Text)
		}
	}
	if len(att.Actions) != 0 || att.Color != hotfixRejectedColor || bareMassMention(att.Text) {
		t.Errorf("rejected: %+v", att)
	}

	b, api, inc, h, g = testHotfix(t)
	if _, err := h.Cancel(hotfixAt.Add(time.Minute), "rita", "wrong *branch*"); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateHotfix(t.Context(), inc, h, g); err != nil {
		t.Fatal(err)
	}
	att = api.updated[0].Attachments()[0]
	if !strings.HasSuffix(att.Text, "⏹ Cancelled by @\u200brita at 2026-11-23 10:01 UTC: wrong \\*branch\\*") || len(att.Actions) != 0 || att.Color != hotfixClosedColor {
		t.Errorf("cancelled: %+v", att)
	}
}

func TestHotfixNotices(t *testing.T) {
	type post struct{ channel, root, message string }
	notice := func(t *testing.T, b *Bot, api *postsAPI, inc *incident.Incident, h *hotfix.Hotfix, g *hotfix.Groups, ev incident.Event, bc string) []post {
		t.Helper()
		api.created = nil
		if err := b.HotfixNotice(t.Context(), inc, h, g, ev, bc); err != nil {
			t.Fatal(err)
		}
		var out []post
		for _, p := range api.created {
			if p.UserId != "botid" || p.GetProp(wire.PropIncidentID) != "k3x9qd" || bareMassMention(p.Message) {
				t.Errorf("%s: post %+v", ev.Type, p)
			}
			out = append(out, post{p.ChannelId, p.RootId, p.Message})
		}
		return out
	}
	check := func(t *testing.T, got []post, thread, broadcast []string, notMentioned ...string) {
		t.Helper()
		var want []string
		if thread != nil {
			want = append(want, "incch/hfpost")
		}
		if broadcast != nil {
			want = append(want, "bcast/")
		}
		var where []string
		for _, p := range got {
			where = append(where, p.channel+"/"+p.root)
		}
		if strings.Join(where, " ") != strings.Join(want, " ") {
			t.Fatalf("posts went to %v, want %v: %+v", where, want, got)
		}
		for i, subs := range [][]string{thread, broadcast} {
			if subs == nil {
				continue
			}
			msg := got[0].message
			if i == 1 {
				msg = got[len(got)-1].message
			}
			for _, s := range subs {
				if !strings.Contains(msg, s) {
					t.Errorf("post lacks %q:\n%s", s, msg)
				}
			}
			for _, u := range notMentioned {
				if mentions(msg, u) {
					t.Errorf("post mentions %s:\n%s", u, msg)
				}
			}
		}
	}

	t.Run("requested: broadcast only", func(t *testing.T) {
		b, api, inc, h, g := testHotfix(t)
		got := notice(t, b, api, inc, h, g, h.Requested(), "bcast")
		check(t, got, nil, []string{":hammer_and_wrench: Hotfix 2 requested for **Incident #k3x9qd: Checkout @\u200bhere down** by @\u200brita · release manager @\u200brm · ~incident-incch",
			"> Raise the pool size @\u200bchannel"}, "rita", "rm", "fred")
		check(t, notice(t, b, api, inc, h, g, h.Requested(), ""), nil, nil)
		check(t, notice(t, b, api, inc, h, g, h.Requested(), "incch"), nil, nil)
	})
	t.Run("approval: nothing", func(t *testing.T) {
		b, api, inc, h, g := testHotfix(t)
		evs := sign(t, h, g, 5, "ann", "qa", true, "")
		check(t, notice(t, b, api, inc, h, g, evs[0], "bcast"), nil, nil)
	})
	t.Run("rejection: author and requester", func(t *testing.T) {
		b, api, inc, h, g := testHotfix(t)
		evs := sign(t, h, g, 5, "ann", "qa", false, "login broken @here")
		got := notice(t, b, api, inc, h, g, evs[0], "bcast")
		check(t, got, []string{"❌ **qa** rejected staging (by @\u200bann): login broken @\u200bhere", "@fred, @rita: hotfix 2 is rejected"},
			[]string{":x: Hotfix 2 for **Incident #k3x9qd: Checkout @\u200bhere down** rejected in staging by @\u200bann (qa): login broken @\u200bhere · ~incident-incch"})
		if mentions(got[1].message, "fred") || mentions(got[0].message, "ann") {
			t.Errorf("wrong people mentioned: %+v", got)
		}
		check(t, notice(t, b, api, inc, h, g, evs[0], ""), []string{"login broken"}, nil)
	})
	t.Run("staging done: the release manager", func(t *testing.T) {
		b, api, inc, h, g := testHotfix(t)
		sign(t, h, g, 5, "ann", "qa", true, "")
		evs := sign(t, h, g, 6, "cat", "support", true, "")
		if len(evs) != 2 {
			t.Fatalf("events %+v", evs)
		}
		check(t, notice(t, b, api, inc, h, g, evs[1], "bcast"),
			[]string{"Staging signed off by every group: @rm, deploy hotfix 2 and press **Deployed**"}, nil, "ann", "cat")
	})
	t.Run("deployed: the groups, not the fixer", func(t *testing.T) {
		b, api, inc, h, g := testHotfix(t)
		sign(t, h, g, 5, "ann", "qa", true, "")
		sign(t, h, g, 6, "cat", "support", true, "")
		ev := deploy(t, h)
		check(t, notice(t, b, api, inc, h, g, ev, "bcast"),
			[]string{":rocket: Deployed by @\u200brm: please verify after deploy and sign off: **qa** (@ann, @bob), **support** (@cat, @ann)"},
			[]string{":rocket: Hotfix 2 for **Incident #k3x9qd: Checkout @\u200bhere down** deployed by @\u200brm, after-deploy sign-off under way · ~incident-incch"},
			"fred", "rm")
	})
	t.Run("signed off after deploy", func(t *testing.T) {
		b, api, inc, h, g := testHotfix(t)
		sign(t, h, g, 5, "ann", "qa", true, "")
		sign(t, h, g, 6, "cat", "support", true, "")
		deploy(t, h)
		sign(t, h, g, 65, "bob", "qa", true, "")
		evs := sign(t, h, g, 66, "ann", "support", true, "")
		check(t, notice(t, b, api, inc, h, g, evs[1], "bcast"), []string{"Hotfix 2 is signed off after deploy."},
			[]string{":white_check_mark: Hotfix 2 for **Incident #k3x9qd: Checkout @\u200bhere down** is deployed and signed off · ~incident-incch"})
	})
	t.Run("cancelled", func(t *testing.T) {
		b, api, inc, h, g := testHotfix(t)
		ev, err := h.Cancel(hotfixAt.Add(time.Minute), "rita", "superseded @channel")
		if err != nil {
			t.Fatal(err)
		}
		check(t, notice(t, b, api, inc, h, g, ev, "bcast"), []string{"Hotfix 2 cancelled by @\u200brita: superseded @\u200bchannel"},
			[]string{"Hotfix 2 for **Incident #k3x9qd: Checkout @\u200bhere down** cancelled by @\u200brita: superseded"}, "rita")
	})
}

func TestHotfixNoticeTriesEveryPost(t *testing.T) {
	b, api, inc, h, g := testHotfix(t)
	ev, err := h.Cancel(hotfixAt, "rita", "")
	if err != nil {
		t.Fatal(err)
	}
	api.fail["incch"] = true
	err = b.HotfixNotice(t.Context(), inc, h, g, ev, "bcast")
	if err == nil || !strings.Contains(err.Error(), "reply to sign-off post") {
		t.Errorf("err = %v", err)
	}
	if len(api.created) != 1 || api.created[0].ChannelId != "bcast" {
		t.Errorf("the broadcast was not tried: %+v", api.created)
	}
}

func TestAnnounceFreeze(t *testing.T) {
	b, api, _, _, _ := testHotfix(t)
	since := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	if err := b.AnnounceFreeze(t.Context(), &app.Freeze{Active: true, Since: since, Incidents: []string{"k3x9qd"}}, true, ""); err != nil || len(api.created) != 0 {
		t.Fatalf("no broadcast channel: %v, %d posts", err, len(api.created))
	}
	for _, c := range []struct {
		f       app.Freeze
		started bool
		want    string
	}{
		{app.Freeze{Active: true, Since: since, Incidents: []string{"k3x9qd"}}, true,
			":ice_cube: **Release freeze** from 2026-11-23 09:30 UTC: S1 incident #k3x9qd is open. Releases other than their hotfixes are frozen until they are resolved or downgraded. `/incident freeze` shows the state."},
		{app.Freeze{Active: true, Since: since, Incidents: []string{"a1", "b2"}}, true, "S1 incidents #a1, #b2 are open."},
		{app.Freeze{Active: true, Since: since, Until: since.Add(2*time.Hour + 14*time.Minute + 40*time.Second), Incidents: []string{"a1"}}, false,
			":sunny: **Release freeze ended** at 2026-11-23 11:44 UTC: no S1 incident is open any more. It lasted 2h 14m 40s."},
	} {
		api.created = nil
		if err := b.AnnounceFreeze(t.Context(), &c.f, c.started, "bcast"); err != nil {
			t.Fatal(err)
		}
		if len(api.created) != 1 || api.created[0].ChannelId != "bcast" || !strings.Contains(api.created[0].Message, c.want) {
			t.Errorf("posts %+v, want one in bcast with %q", api.created, c.want)
		}
	}
}

// TestSignersLeaveOutTheRequester: the sign-off post never asks the
// requester of someone else's fix to sign it, in any group.
func TestSignersLeaveOutTheRequester(t *testing.T) {
	b, api, inc, h, g := testHotfix(t)
	for name, ms := range map[string][]string{"qa": {"fred", "rita", "ann", "bob"}, "support": {"rita", "cat"}} {
		if err := g.Set(name, ms); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.PostHotfix(t.Context(), inc, h, g); err != nil {
		t.Fatal(err)
	}
	p := api.created[0]
	if !strings.Contains(p.Message, "Staging sign-off needed from: **qa** (@ann, @bob), **support** (@cat)") || mentions(p.Message, "rita") {
		t.Errorf("the requester is asked to sign:\n%s", p.Message)
	}
	if att := p.Attachments()[0].Text; !strings.Contains(att, "⏳ qa: waiting for @\u200bann, @\u200bbob\n⏳ support: waiting for @\u200bcat\n") {
		t.Errorf("the requester is listed as a signer:\n%s", att)
	}
}
