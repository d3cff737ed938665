package plugin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// announcedOf counts the incidents announced in the broadcast channel
// for alert name.
func announcedOf(t *testing.T, name string) int {
	t.Helper()
	return len(botPosts(t, ctxT(t), srv.Admin, broadcast.Id, func(p *model.Post) bool {
		return strings.Contains(p.Message, "started") && strings.Contains(p.Message, name)
	}))
}

// Alerts inside a maintenance window open nothing; when it ends, the one
// still firing opens its incident and the one that stopped does not.
func TestMaintenanceWindowHoldsAlertsUntilItEnds(t *testing.T) {
	ctx := ctxT(t)
	const token = "e2e-alertmanager-token-quiet-31c"
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id, "AlertmanagerToken": token}); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("DiskSwap%d", time.Now().UnixNano()%1e6)
	reply := cmd(t, srv.Admin, srv.TownSquare.Id, "/incident maintenance add alertname="+name+" now +8s disk swap").Text
	mustContain(t, "add", reply, "Maintenance window", "label:alertname="+name)
	mustContain(t, "non-admin", cmd(t, srv.Users[0], srv.TownSquare.Id, "/incident maintenance add alertname=x now +1h").Text, "only system admins and rota admins")
	still, stopped := fmt.Sprintf("%016x", time.Now().UnixNano()), fmt.Sprintf("%016x", time.Now().UnixNano()+1)
	for _, fp := range []string{still, stopped} {
		if code, res := postAlert(t, alertsURL("alertmanager"), token, true, amPayload("firing", fp, name)); code != http.StatusOK || res["held"] != float64(1) {
			t.Fatalf("firing inside the window: %d %v", code, res)
		}
	}
	if code, res := postAlert(t, alertsURL("alertmanager"), token, true, amPayload("resolved", stopped, name)); code != http.StatusOK {
		t.Fatalf("resolved inside the window: %d %v", code, res)
	}
	mustContain(t, "list", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident maintenance list").Text, "**active**", "| 2 |", "disk swap")
	if n := announcedOf(t, name); n != 0 {
		t.Fatalf("%d incidents announced inside the window", n)
	}
	harness.Eventually(t, 8*time.Second+wait, "the still-firing alert's incident after the window", func() (bool, error) {
		return announcedOf(t, name) >= 1, nil
	})
	waitTicks(t, ctx, 2)
	if n := announcedOf(t, name); n != 1 {
		t.Errorf("%d incidents after the window, want the still-firing alert's only", n)
	}
	mustContain(t, "list ended", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident maintenance list").Text, "ended")
}

// A flapping alert under its noise threshold ("for 6s") opens nothing; a
// steady one opens its incident once its time is up.
func TestFlappingAlertUnderItsThresholdOpensNothing(t *testing.T) {
	ctx := ctxT(t)
	const token = "e2e-alertmanager-token-quiet-31c"
	flap, steady := fmt.Sprintf("DiskFlap%d", time.Now().UnixNano()%1e6), fmt.Sprintf("DiskSteady%d", time.Now().UnixNano()%1e6)
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id, "AlertmanagerToken": token,
		"AlertThresholds": "alertname=" + flap + " -> for 6s; alertname=" + steady + " -> for 6s"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.PatchPluginConfig(ctxT(t), pluginID, map[string]any{"AlertThresholds": ""}) })
	fpFlap, fpSteady := fmt.Sprintf("%016x", time.Now().UnixNano()), fmt.Sprintf("%016x", time.Now().UnixNano()+7)
	harness.Eventually(t, wait, "the threshold in force", func() (bool, error) {
		_, res := postAlert(t, alertsURL("alertmanager"), token, true, amPayload("firing", fpFlap, flap))
		return res["held"] == float64(1), nil
	})
	if _, res := postAlert(t, alertsURL("alertmanager"), token, true, amPayload("firing", fpSteady, steady)); res["held"] != float64(1) {
		t.Fatalf("steady alert's first notification: %v", res)
	}
	if _, res := postAlert(t, alertsURL("alertmanager"), token, true, amPayload("resolved", fpFlap, flap)); res["opened"] != float64(0) {
		t.Fatalf("flapping alert resolved: %v", res)
	}
	harness.Eventually(t, 6*time.Second+wait, "the steady alert's incident", func() (bool, error) {
		return announcedOf(t, steady) == 1, nil
	})
	waitTicks(t, ctx, 2)
	if n := announcedOf(t, flap); n != 0 {
		t.Errorf("the flapping alert opened %d incidents", n)
	}
}
