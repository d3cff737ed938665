package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
	"github.com/incidentbot/mattermost-incident-bot/server/schedule"
)

// A second rota, made in chat, staffs and pages the incident that names
// it at its start: its own first line is paged in its own rota channel,
// and the card names the rota and them.
func TestNamedRotaStaffsAndPagesItsIncident(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=6s, S2=6s, S3=6s, S4=off", "5s")
	name := "pay" + uniq()
	l1, starter := newUser(t, ctx, name+"-l1"), newUser(t, ctx, name+"-starter")
	ch, err := srv.NewChannel(ctx, name+"-rota", false, l1, starter)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "rota create", cmd(t, srv.Admin, ch.Id, "/incident rota create "+name).Text, "Rota `"+name+"` made")
	mustContain(t, "rota list", cmd(t, srv.Admin, ch.Id, "/incident rota list").Text, "`"+name+"`", "every other team")
	mustContain(t, "rota set", cmd(t, srv.Admin, ch.Id, "/incident rota set l1 @"+l1.Username+" --rota "+name).Text, "rota set")
	mustContain(t, "rota channel", cmd(t, srv.Admin, ch.Id, "/incident rota channel --rota "+name).Text, "now the rota channel")
	mustContain(t, "rota show", cmd(t, srv.Admin, ch.Id, "/incident rota show --rota "+name).Text, "Rota `"+name+"`", "@"+l1.Username)
	mustContain(t, "unknown rota", cmd(t, starter, srv.TownSquare.Id, "/incident start Nope --rota no-such-rota").Text, `no rota "no-such-rota"`, name)
	// The rota's own admin edits it, and only it.
	mustContain(t, "admins", cmd(t, srv.Admin, ch.Id, "/incident rota admins @"+starter.Username+" --rota "+name).Text, "Rota admins: @"+starter.Username)
	mustContain(t, "by its admin", cmd(t, starter, ch.Id, "/incident rota add l2 @"+l1.Username+" --rota "+name).Text, "@"+l1.Username)
	mustContain(t, "not the first", cmd(t, starter, ch.Id, "/incident rota add l2 @"+l1.Username).Text, "only system admins and rota admins may edit rota main")
	cmd(t, starter, ch.Id, "/incident rota remove l2 @"+l1.Username+" --rota "+name)

	s := start(t, starter, "Card payments fail --severity S2 --rota "+name)
	page := waitPagePost(t, ctx, l1, ch.Id, l1)
	mustContain(t, "page post", page.Message, "#"+s.ID)
	mustContain(t, "card", postTextNowAs(t, ctx, starter, s.Card.Id), "@"+l1.Username, "`"+name+"`")

	// Another rota takes the incident over: its incident manager takes the
	// open role, the first line keeps theirs.
	other, im := name+"b", newUser(t, ctx, name+"-im")
	ch2, err := srv.NewChannel(ctx, other+"-rota", false, im, starter)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "second rota", cmd(t, srv.Admin, ch.Id, "/incident rota create "+other).Text, "made")
	mustContain(t, "its im", cmd(t, srv.Admin, ch.Id, "/incident rota set im @"+im.Username+" --rota "+other).Text, "rota set")
	mustContain(t, "its channel", cmd(t, srv.Admin, ch2.Id, "/incident rota channel --rota "+other).Text, "now the rota channel")
	mustContain(t, "rota-for", cmd(t, starter, s.Channel.Id, "/incident rota-for "+other).Text, "Rota `"+other+"` staffs #"+s.ID)
	harness.Eventually(t, wait, "the card shows the new rota and its incident manager", func() (bool, error) {
		text := postTextNowAs(t, ctx, starter, s.Card.Id)
		return strings.Contains(text, "`"+other+"`") && strings.Contains(text, "Incident manager: @"+im.Username) && strings.Contains(text, "First line: @"+l1.Username), nil
	})
	mustContain(t, "timeline", cmd(t, starter, s.Channel.Id, "/incident timeline").Text, "(rota "+name+", named at the start)", "rota "+name+" → "+other)
	// The open page moved with the incident: unanswered, it escalates to
	// the new rota's incident manager in the new rota's channel.
	mustContain(t, "escalated page", waitPagePost(t, ctx, im, ch2.Id, im).Message, "#"+s.ID)
}

// Two services, two rotas: routing rules on the alerts' labels send each
// service's alert to its own rota, whose first line is paged in its own
// rota channel, and nobody of the other rota is.
func TestAlertsPageTheirServicesRota(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=6s, S2=6s, S3=6s, S4=off", "5s")
	const token = "e2e-alertmanager-token-rotas-7d2e"
	tag := uniq()
	type team struct {
		rota string
		l1   *harness.User
		ch   *model.Channel
		id   string
	}
	teams := []*team{{rota: "pay" + tag}, {rota: "web" + tag}}
	var rules []string
	for _, tm := range teams {
		tm.l1 = newUser(t, ctx, tm.rota+"-l1")
		var err error
		if tm.ch, err = srv.NewChannel(ctx, tm.rota+"-rota", false, tm.l1); err != nil {
			t.Fatal(err)
		}
		mustContain(t, "rota create", cmd(t, srv.Admin, tm.ch.Id, "/incident rota create "+tm.rota).Text, "made")
		mustContain(t, "rota set", cmd(t, srv.Admin, tm.ch.Id, "/incident rota set l1 @"+tm.l1.Username+" --rota "+tm.rota).Text, "rota set")
		mustContain(t, "rota channel", cmd(t, srv.Admin, tm.ch.Id, "/incident rota channel --rota "+tm.rota).Text, "now the rota channel")
		rules = append(rules, "label:service="+tm.rota+" -> "+tm.rota)
	}
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"AlertmanagerToken": token, "RotaRules": strings.Join(rules, "; ")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(context.Background(), pluginID, map[string]any{"AlertmanagerToken": "", "RotaRules": ""}); err != nil {
			t.Error(err)
		}
	})
	for i, tm := range teams {
		name := fmt.Sprintf("ServiceDown%s%d", tag, i)
		code, res := postAlert(t, alertsURL("alertmanager"), token, true, amPayloadLabels("firing", fmt.Sprintf("%016x", time.Now().UnixNano()), name, map[string]string{"service": tm.rota}))
		ids, _ := res["incidents"].([]any)
		if code != http.StatusOK || len(ids) != 1 {
			t.Fatalf("alert for %s: %d %v\n%s", tm.rota, code, res, srv.PluginLogTail(pluginID, 20))
		}
		tm.id = ids[0].(string)
	}
	for i, tm := range teams {
		page := waitPagePost(t, ctx, tm.l1, tm.ch.Id, tm.l1)
		mustContain(t, tm.rota+"'s page", page.Message, "#"+tm.id)
		other := teams[1-i]
		for _, p := range pagePosts(t, ctx, tm.l1, tm.ch.Id, "") {
			if strings.Contains(p.Message, "#"+other.id) || strings.Contains(p.Message, "@"+other.l1.Username) {
				t.Errorf("%s's rota channel has the other service's page:\n%s", tm.rota, p.Message)
			}
		}
	}
}

// amPayloadLabels is amPayload with more labels on its alert.
func amPayloadLabels(status, fingerprint, name string, labels map[string]string) []byte {
	var p map[string]any
	_ = json.Unmarshal(amPayload(status, fingerprint, name), &p)
	alert := p["alerts"].([]any)[0].(map[string]any)
	for k, v := range labels {
		alert["labels"].(map[string]any)[k] = v
	}
	b, _ := json.Marshal(p)
	return b
}

// A rota's escalation policy on the real server: a 3-second wait, the
// chain run twice, then every member of the rota, the release manager
// (who is in no chain) last.
func TestRotaEscalationRepeatsThenPagesEveryone(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=off, S2=off, S3=off, S4=off", "off") // the settings page nobody: the rota's policy does
	name := "esc" + uniq()
	l1, l2, im, rm := newUser(t, ctx, name+"-l1"), newUser(t, ctx, name+"-l2"), newUser(t, ctx, name+"-im"), newUser(t, ctx, name+"-rm")
	starter := newUser(t, ctx, name+"-starter")
	ch, err := srv.NewChannel(ctx, name+"-rota", false, l1, l2, im, rm, starter)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "rota create", cmd(t, srv.Admin, ch.Id, "/incident rota create "+name).Text, "made")
	for role, u := range map[string]*harness.User{"l1": l1, "l2": l2, "im": im, "rm": rm} {
		mustContain(t, "rota set "+role, cmd(t, srv.Admin, ch.Id, "/incident rota set "+role+" @"+u.Username+" --rota "+name).Text, "rota set")
	}
	mustContain(t, "rota channel", cmd(t, srv.Admin, ch.Id, "/incident rota channel --rota "+name).Text, "now the rota channel")
	mustContain(t, "waits", cmd(t, srv.Admin, ch.Id, "/incident rota escalation timeouts S2=3s --rota "+name).Text, "S2 3s")
	mustContain(t, "repeat", cmd(t, srv.Admin, ch.Id, "/incident rota escalation repeat 1 --rota "+name).Text, "the chain twice")
	mustContain(t, "last", cmd(t, srv.Admin, ch.Id, "/incident rota escalation last all --rota "+name).Text, "then every member of the rota")

	s := start(t, starter, "Nobody answers --severity S2 --rota "+name)
	var tl string
	harness.Eventually(t, time.Minute, "the chain twice, then every member", func() (bool, error) {
		tl = cmd(t, starter, s.Channel.Id, "/incident timeline").Text
		return strings.Count(tl, "page escalated") >= 7, nil
	})
	// First run: l1 (paged), l2, im; second run: l1, l2, im; last step:
	// l1, l2, im, rm.
	mustContain(t, "timeline", tl, "run 2 of the chain", "as the policy's last step")
	if !strings.Contains(tl, "@"+rm.Username+" as the policy's last step") {
		harness.Eventually(t, time.Minute, "the release manager paged last", func() (bool, error) {
			tl = cmd(t, starter, s.Channel.Id, "/incident timeline").Text
			return strings.Contains(tl, "@"+rm.Username+" as the policy's last step"), nil
		})
	}
	waitPagePost(t, ctx, rm, ch.Id, rm)
}

// A second rota hands off in its own channel, under its own name, and its
// holder acknowledges it there.
func TestSecondRotaHandsOffInItsChannel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := "ho" + uniq()
	l1 := newUser(t, ctx, name+"-l1")
	ch, err := srv.NewChannel(ctx, name+"-rota", false, l1)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "rota create", cmd(t, srv.Admin, ch.Id, "/incident rota create "+name).Text, "made")
	mustContain(t, "rota set", cmd(t, srv.Admin, ch.Id, "/incident rota set l1 @"+l1.Username+" --rota "+name).Text, "rota set")
	mustContain(t, "rota channel", cmd(t, srv.Admin, ch.Id, "/incident rota channel --rota "+name).Text, "now the rota channel")
	at := time.Now().UTC().Add(8 * time.Second).Truncate(time.Second)
	spec := fmt.Sprintf("CRON_TZ=UTC %d %d %d * * *", at.Second(), at.Minute(), at.Hour())
	mustContain(t, "handoff", cmd(t, srv.Admin, ch.Id, `/incident rota handoff "`+spec+`" --rota `+name).Text, "Handoff set")
	key := name + "-" + strconv.FormatInt(at.Unix(), 10)
	var post *model.Post
	harness.Eventually(t, 8*time.Second+3*schedule.DefaultTickInterval+wait, "the second rota's handoff", func() (bool, error) {
		ps, err := handoffPosts(ctx, ch.Id, key)
		if len(ps) > 0 {
			post = ps[0]
		}
		return post != nil, err
	})
	mustContain(t, "announcement", harness.PostText(post), "Rota "+name+" handoff: week of", "**First line**: @"+l1.Username)
	if _, err := srv.ClickButton(ctx, l1, post.Id, "ackhandoff"); err != nil {
		t.Fatal(err)
	}
	waitPostText(t, ctx, post.Id, "✅ @"+l1.Username+" acknowledged")
}

// A second rota's handles and header: its channel's header shows its
// people on duty, @<rota>-release-manager names its release manager,
// @<rota>-oncall everyone on duty in it.
func TestSecondRotaHandlesAnswer(t *testing.T) {
	ctx := ctxT(t)
	name := "hd" + uniq()
	rm, poster := newUser(t, ctx, name+"-rm"), newUser(t, ctx, name+"-poster")
	ch, err := srv.NewChannel(ctx, name+"-talk", false, rm, poster)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "rota create", cmd(t, srv.Admin, ch.Id, "/incident rota create "+name).Text, "made")
	mustContain(t, "rota set", cmd(t, srv.Admin, ch.Id, "/incident rota set rm @"+rm.Username+" --rota "+name).Text, "rota set")
	// Its channel's header shows its people on duty.
	mustContain(t, "rota channel", cmd(t, srv.Admin, ch.Id, "/incident rota channel --rota "+name).Text, "now the rota channel")
	waitHeader(t, ctx, ch.Id, "RM @\u200b"+rm.Username)
	p := say(t, ctx, poster, ch.Id, "", "Who deploys today, @"+name+"-release-manager?")
	waitAnswer(t, ctx, poster, ch.Id, p.Id, name+"-release-manager is @"+rm.Username+" this week")
	q := say(t, ctx, poster, ch.Id, "", "@"+name+"-oncall are you there?")
	waitAnswer(t, ctx, poster, ch.Id, q.Id, "@"+rm.Username)
}
