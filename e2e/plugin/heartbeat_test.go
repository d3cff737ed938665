package plugin_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

var (
	heartbeatURL   = regexp.MustCompile("URL: `(http[^`]+)`")
	heartbeatToken = regexp.MustCompile("Token \\(shown once\\): `([0-9a-f]+)`")
)

// beat calls a heartbeat's URL as cron's curl would, and returns the
// status.
func beat(ctx context.Context, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("X-Heartbeat-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// A heartbeat beaten on two nodes stays up; when it stops, one incident
// opens (both nodes run the plugin and its checks), within its grace and
// a few seconds; when it beats again the recovery is on the incident's
// timeline.
func TestHeartbeatStopsOnTwoNodesOpensOneIncident(t *testing.T) {
	ctx := ctxT(t)
	node := harness.MustStartNode(t, srv, harness.NodeOptions{})
	if err := node.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatalf("the plugin on the second node: %v", err)
	}
	name := "hb" + uniq()
	reply := cmd(t, srv.Admin, srv.TownSquare.Id, "/incident heartbeat add "+name+" --every 10s --grace 10s --severity S3").Text
	mustContain(t, "add", reply, "Heartbeat `"+name+"` added", "curl", "Watchdog")
	u, tok := heartbeatURL.FindStringSubmatch(reply), heartbeatToken.FindStringSubmatch(reply)
	if u == nil || tok == nil {
		t.Fatalf("no URL or token in %q", reply)
	}
	url, token := u[1], tok[1]
	urls := []string{url, strings.Replace(url, srv.URL, node.URL, 1)} // the same heartbeat through each node
	if code, err := beat(ctx, url, "0123456789abcdef"); err != nil || code != http.StatusForbidden {
		t.Fatalf("a beat with a wrong token: %d, %v", code, err)
	}
	if code, err := beat(ctx, url, ""); err != nil || code != http.StatusForbidden {
		t.Fatalf("a beat without a token: %d, %v", code, err)
	}
	mustContain(t, "non-admin", cmd(t, srv.Users[0], srv.TownSquare.Id, "/incident heartbeat add x"+name+" --every 1m").Text, "only system admins and rota admins")

	// Beats every 2 s, through both nodes, for 26 s: longer than every +
	// grace, so that a check in between finds it up.
	var last time.Time
	ticker := time.NewTicker(2 * time.Second)
	for i := 0; i < 14; i++ {
		if code, err := beat(ctx, urls[i%2], token); err != nil || code != http.StatusOK {
			t.Fatalf("beat %d through node %d: %d, %v", i, i%2, code, err)
		}
		last = time.Now()
		<-ticker.C
	}
	ticker.Stop()
	if n := len(botPosts(t, ctx, srv.Admin, broadcast.Id, func(p *model.Post) bool { return strings.Contains(p.Message, "Heartbeat "+name) })); n != 0 {
		t.Fatalf("a beating heartbeat opened %d incidents", n)
	}
	mustContain(t, "list up", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident heartbeat list").Text, "`"+name+"`", "up, missed after")

	// It stops.
	var announced *model.Post
	harness.Eventually(t, 10*time.Second+10*time.Second+wait, "the missed heartbeat's incident", func() (bool, error) {
		for _, p := range botPosts(t, ctx, srv.Admin, broadcast.Id, func(p *model.Post) bool { return strings.Contains(p.Message, "Heartbeat "+name+" missed") }) {
			announced = p
		}
		return announced != nil, nil
	})
	late := time.UnixMilli(announced.CreateAt).Sub(last.Add(10 * time.Second))
	// A figure, not an assertion (a loaded CI machine is slower): the
	// issue's target is the grace + 10 s.
	t.Logf("heartbeat missed to its incident announced: %s after the beat was due (grace 10s)", late.Round(100*time.Millisecond))
	id, _ := announced.GetProp("incident_id").(string)
	waitTicks(t, ctx, 2)
	if n := len(botPosts(t, ctx, srv.Admin, broadcast.Id, func(p *model.Post) bool {
		return strings.Contains(p.Message, "Heartbeat "+name+" missed") && strings.Contains(p.Message, "started")
	})); n != 1 {
		t.Errorf("%d incidents opened for one missed heartbeat on two nodes, want 1", n)
	}
	mustContain(t, "list down", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident heartbeat list").Text, "**missed** since")

	// It comes back.
	if code, err := beat(ctx, urls[1], token); err != nil || code != http.StatusOK {
		t.Fatalf("the returning beat: %d, %v", code, err)
	}
	waitCmd(t, srv.Admin, srv.TownSquare.Id, "/incident timeline #"+id, "Heartbeat "+name+" back")
	// Reads may lag a write on another node by a fraction of a second (see
	// kvstore's recentRead): poll.
	waitCmd(t, srv.Admin, srv.TownSquare.Id, "/incident heartbeat list", "up, missed after")
	cmd(t, srv.Admin, srv.TownSquare.Id, "/incident resolve #"+id+" heartbeat test")
	mustContain(t, "remove", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident heartbeat remove "+name).Text, "removed")
	if code, err := beat(ctx, url, token); err != nil || code != http.StatusForbidden {
		t.Errorf("a beat of a removed heartbeat: %d, %v", code, err)
	}
}
