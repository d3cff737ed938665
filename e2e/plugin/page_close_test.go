package plugin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// TestResolveClosesPagesAtOnce: when /incident resolve answers, the
// incident's open page is closed already (its posts show it, without the
// Acknowledge button), a late acknowledgement is refused with a clear
// message and writes nothing, and the timeline says why the page closed,
// once, after the resolution.
func TestResolveClosesPagesAtOnce(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=10m, S2=10m, S3=10m, S4=off", "off")
	r := newPagingRota(t, ctx, "pgc"+uniq())
	l1 := r.holder["l1"]
	s := start(t, r.starter, "Checkout errors --severity S2")
	inRota := waitPagePost(t, ctx, l1, r.channel.Id, l1)
	pageID, _ := inRota.GetProp("page_id").(string)
	inDM := waitPageDM(t, ctx, l1, pageID)

	mustContain(t, "resolve", cmd(t, r.holder["im"], s.Channel.Id, "/incident resolve Fixed by a rollback").Text, "resolved")
	// No waiting: the answer came after the pages were closed.
	for _, p := range []*model.Post{inRota, inDM} {
		got, _, err := l1.Client.GetPost(ctx, p.Id, "")
		if err != nil {
			t.Fatal(err)
		}
		if hasButton(got, "ackpage") || !strings.Contains(harness.PostText(got), "resolved") {
			t.Errorf("page post %s right after the resolve still offers an acknowledgement:\n%s", p.Id, harness.PostText(got))
		}
	}

	// A click that reaches the plugin anyway (sent before the button went)
	// is refused, and changes nothing.
	reply := ackDirect(t, l1, inRota.Id, pageID)
	mustContain(t, "late acknowledgement", reply, "closed", "without acknowledgement", "resolved")
	if strings.Contains(reply, "Thanks") {
		t.Errorf("a closed page was acknowledged: %q", reply)
	}

	tl := waitCmd(t, r.starter, s.Channel.Id, "/incident timeline", "page closed")
	if n := strings.Count(tl, "page closed"); n != 1 {
		t.Errorf("%d page closes on the timeline, want 1:\n%s", n, tl)
	}
	if strings.Contains(tl, "page acknowledged") {
		t.Errorf("the late acknowledgement reached the timeline:\n%s", tl)
	}
	if i, j := strings.Index(tl, "resolved"), strings.Index(tl, "page closed"); i < 0 || j < i {
		t.Errorf("the page's close is not after the resolution:\n%s", tl)
	}
}

// ackDirect sends the Acknowledge button's request for postID to the
// plugin as u, as the server does for a click (the server sets the user
// from u's session), and returns the ephemeral answer.
func ackDirect(t *testing.T, u *harness.User, postID, pageID string) string {
	t.Helper()
	body, _ := json.Marshal(model.PostActionIntegrationRequest{PostId: postID, Context: map[string]any{"page_id": pageID}})
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, srv.URL+"/plugins/"+pluginID+"/api/v1/actions/ackpage", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+u.Client.AuthToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out model.PostActionIntegrationResponse
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("ack answer (status %d): %v", res.StatusCode, err)
	}
	return out.EphemeralText
}
