package plugin_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// setHotfixSettings makes hotfixes need qa and support, with slow paging
// (nothing escalates during the test), and restores the defaults after.
func setHotfixSettings(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"BroadcastChannelID": broadcast.Id,
		"EscalationTimeouts": "S1=10m, S2=10m, S3=10m, S4=off", "RenotifyInterval": "off",
		"UpdateCadence": "S1=off, S2=off, S3=off, S4=off", "HotfixSignoffGroups": "qa, support"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(context.Background(), pluginID, map[string]any{"BroadcastChannelID": broadcast.Id}); err != nil {
			t.Error(err)
		}
	})
}

// signoffPost waits for the sign-off post of hotfix n in channelID.
func signoffPost(t *testing.T, ctx context.Context, u *harness.User, channelID, n string) *model.Post {
	t.Helper()
	var found *model.Post
	harness.Eventually(t, wait, "sign-off post of hotfix "+n, func() (bool, error) {
		posts, err := srv.Posts(ctx, u, channelID)
		if err != nil {
			return false, err
		}
		for _, p := range posts {
			if p.UserId == botUser.Id && p.GetProp("hotfix") == n && p.RootId == "" {
				found = p
				return true, nil
			}
		}
		return false, nil
	})
	return found
}

// buttonID returns the id of the post's button labelled name.
func buttonID(t *testing.T, p *model.Post, name string) string {
	t.Helper()
	for _, a := range p.Attachments() {
		for _, act := range a.Actions {
			if act.Name == name {
				return act.Id
			}
		}
	}
	t.Fatalf("no %q button on the post:\n%s", name, harness.PostText(p))
	return ""
}

// click presses the button labelled name on the post as u.
func click(t *testing.T, ctx context.Context, u *harness.User, postID, name string) {
	t.Helper()
	p, _, err := u.Client.GetPost(ctx, postID, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ClickButton(ctx, u, postID, buttonID(t, p, name)); err != nil {
		t.Fatalf("%s clicks %q: %v", u.Username, name, err)
	}
}

// quiet is how posts name someone without notifying them.
func quiet(u *harness.User) string { return "@\u200b" + u.Username }

// TestHotfixSignoffOnTheRealServer: a hotfix request pages the week's
// release manager and posts the sign-off; only members of each group move
// the stages, the fixer cannot approve, a rejection takes a reason from the
// dialog and ends the hotfix; a hotfix whose author is the release manager
// goes to the next one on the rota, who marks it deployed between the two
// stages; the postmortem shows the Release and hotfix section.
func TestHotfixSignoffOnTheRealServer(t *testing.T) {
	ctx := ctxT(t)
	setHotfixSettings(t, ctx)
	// Unique names, so that the test can run again on the same server.
	p := "hf" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	r := newPagingRota(t, ctx, p)
	rm1, rm2 := newUser(t, ctx, p+"-rm1"), newUser(t, ctx, p+"-rm2")
	qa1, qa2, sup, dev, outsider := newUser(t, ctx, p+"-qa1"), newUser(t, ctx, p+"-qa2"), newUser(t, ctx, p+"-sup"), newUser(t, ctx, p+"-dev"), newUser(t, ctx, p+"-out")
	for _, u := range []*harness.User{rm1, rm2} {
		if _, _, err := srv.Admin.Client.AddChannelMember(ctx, r.channel.Id, u.Id); err != nil {
			t.Fatal(err)
		}
	}
	mustContain(t, "rota set rm", cmd(t, srv.Admin, r.channel.Id, "/incident rota set rm @"+rm1.Username).Text, "rota set")
	t.Cleanup(func() {
		_, _ = srv.ExecuteCommand(context.Background(), srv.Admin, r.channel.Id, "/incident rota remove rm @"+rm1.Username)
		_, _ = srv.ExecuteCommand(context.Background(), srv.Admin, r.channel.Id, "/incident rota remove rm @"+rm2.Username)
	})

	// Groups: admins only; anyone may list them.
	mustContain(t, "non-admin group edit", cmd(t, outsider, srv.TownSquare.Id, "/incident signoff-group set qa @"+outsider.Username).Text,
		"only system admins and rota admins")
	mustContain(t, "set qa", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident signoff-group set qa @"+qa1.Username+" @"+qa2.Username+" @"+dev.Username).Text,
		"Sign-off group qa saved", "(hotfixes need it)")
	mustContain(t, "set support", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident signoff-group set support @"+sup.Username).Text, "Sign-off group support saved")
	mustContain(t, "list groups", cmd(t, outsider, srv.TownSquare.Id, "/incident signoff-group").Text,
		"**qa** (hotfixes need it): @"+qa1.Username, "**support** (hotfixes need it): @"+sup.Username)

	s := start(t, r.starter, "Checkout times out --severity S2")
	ref := " #" + s.ID + " "

	// Hotfix 1, made and requested by dev: rm1, the week's release
	// manager, is paged in the rota channel and by DM.
	mustContain(t, "hotfix 1", cmd(t, dev, srv.TownSquare.Id, "/incident hotfix"+ref+"Raise the connection pool to 200").Text,
		"Hotfix 1 requested on #"+s.ID, "@"+rm1.Username+" releases it and is paged", "qa, support")
	page := waitPagePost(t, ctx, rm1, r.channel.Id, rm1)
	mustContain(t, "release manager's page", harness.PostText(page), "as **Release manager**", "Hotfix 1 to release: Raise the connection pool to 200")
	harness.Eventually(t, wait, "page DM to the release manager", func() (bool, error) {
		return len(pagePosts(t, ctx, rm1, dm(t, ctx, rm1).Id, "")) > 0, nil
	})
	post := signoffPost(t, ctx, qa1, s.Channel.Id, "1")
	mustContain(t, "sign-off post", harness.PostText(post), "Hotfix 1", "Raise the connection pool to 200", "release manager @"+rm1.Username,
		"Staging sign-off needed from", "⏳ qa: waiting", "⏳ support: waiting")
	if strings.Contains(post.Message, "@"+dev.Username) {
		t.Errorf("the fixer is asked to sign his own fix:\n%s", post.Message)
	}

	// Refusals: a non-member and the fixer, by command (with the reason)
	// and by button (which must change nothing).
	mustContain(t, "non-member", cmd(t, outsider, srv.TownSquare.Id, "/incident signoff"+ref+"qa approve").Text, "only members of qa sign for it")
	mustContain(t, "fixer", cmd(t, dev, srv.TownSquare.Id, "/incident signoff"+ref+"qa approve").Text, "you made this fix", "four eyes")
	// The outsider can see the post (a member of the incident channel), so
	// the plugin, not the server, must refuse the click.
	if _, _, err := srv.Admin.Client.AddChannelMember(ctx, s.Channel.Id, outsider.Id); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, outsider, post.Id, "Approve qa")
	click(t, ctx, dev, post.Id, "Approve qa")
	click(t, ctx, qa1, post.Id, "Approve qa")
	got := waitPostAs(t, ctx, qa1, post.Id, "✅ qa: approved by "+quiet(qa1))
	if strings.Contains(harness.PostText(got), quiet(dev)+" at") || strings.Contains(harness.PostText(got), quiet(outsider)+" at") {
		t.Fatalf("a refused click signed:\n%s", harness.PostText(got))
	}
	mustContain(t, "deploy too early", cmd(t, rm1, srv.TownSquare.Id, "/incident deployed"+ref).Text, "not signed off in staging yet", "support")

	// A rejection needs a reason; with one it ends hotfix 1 and closes the
	// release manager's page.
	click(t, ctx, sup, post.Id, "Reject support") // opens the dialog; the submission follows
	reject := func(reason string) *model.SubmitDialogResponse {
		resp, err := srv.SubmitDialog(ctx, sup, model.SubmitDialogRequest{URL: "/plugins/" + pluginID + "/api/v1/dialogs/hotfixreject",
			CallbackId: "hotfixreject", State: s.ID + "/1/staging/support", ChannelId: s.Channel.Id, Submission: map[string]any{"reason": reason}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := reject("  "); resp.Errors["reason"] == "" {
		t.Fatalf("a rejection without a reason was accepted: %+v", resp)
	}
	if resp := reject("Checkout still fails for saved cards"); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("rejection refused: %+v", resp)
	}
	got = waitPostAs(t, ctx, sup, post.Id, "❌ support: rejected by "+quiet(sup))
	mustContain(t, "rejected post", harness.PostText(got), "Checkout still fails for saved cards")
	if hasButton(got, buttonID(t, post, "Approve support")) {
		t.Errorf("a rejected hotfix still offers buttons:\n%s", harness.PostText(got))
	}
	waitPostAs(t, ctx, rm1, page.Id, "Closed unacknowledged")

	// Hotfix 2, authored by rm1: rm1 may not release it, so rm2, next on
	// the release manager rota, is paged instead.
	mustContain(t, "rota add rm", cmd(t, srv.Admin, r.channel.Id, "/incident rota add rm @"+rm2.Username).Text, "rota")
	mustContain(t, "hotfix 2", cmd(t, dev, srv.TownSquare.Id, "/incident hotfix"+ref+"--author @"+rm1.Username+" Roll back the cache change").Text,
		"Hotfix 2 requested", "@"+rm2.Username+" releases it")
	page2 := waitPagePost(t, ctx, rm2, r.channel.Id, rm2)
	mustContain(t, "substitute's page", harness.PostText(page2), "Hotfix 2 to release")
	post2 := signoffPost(t, ctx, qa2, s.Channel.Id, "2")
	mustContain(t, "substitution on the post", harness.PostText(post2), quiet(rm1)+" made the fix and may not release it")
	click(t, ctx, rm1, post2.Id, "Approve qa") // rm1 is not in qa, and is the fixer
	click(t, ctx, qa2, post2.Id, "Approve qa")
	waitPostAs(t, ctx, qa2, post2.Id, "✅ qa: approved by "+quiet(qa2))
	mustContain(t, "support approves", cmd(t, sup, srv.TownSquare.Id, "/incident signoff"+ref+"support approve").Text, "You approved staging of hotfix 2")
	waitPostAs(t, ctx, sup, post2.Id, "✅ support: approved by "+quiet(sup))
	mustContain(t, "fixer deploys", cmd(t, rm1, srv.TownSquare.Id, "/incident deployed"+ref).Text, "you made this fix, so you may not release it", "@"+rm2.Username)
	click(t, ctx, rm2, post2.Id, "Deployed")
	waitPostAs(t, ctx, rm2, post2.Id, "🚀 Deployed by "+quiet(rm2))
	waitPostAs(t, ctx, rm2, page2.Id, "✅ Acknowledged by "+quiet(rm2)) // deploying answered the page
	click(t, ctx, qa1, post2.Id, "Approve qa")
	waitPostAs(t, ctx, qa1, post2.Id, "After deploy")
	click(t, ctx, sup, post2.Id, "Approve support")
	done := waitPostAs(t, ctx, sup, post2.Id, "Signed off after deploy")
	if strings.Count(harness.PostText(done), "✅ qa: approved by") != 2 || strings.Count(harness.PostText(done), "✅ support: approved by") != 2 {
		t.Errorf("the post must show both stages' sign-offs:\n%s", harness.PostText(done))
	}
	waitPost(t, srv.Admin, broadcast.Id, "Hotfix 2", "deployed and signed off")

	tl := cmd(t, sup, srv.TownSquare.Id, "/incident timeline #"+s.ID).Text
	mustContain(t, "timeline", tl, "hotfix 1 requested: Raise the connection pool", "support rejected staging (hotfix 1): Checkout still fails",
		"qa approved after deploy (hotfix 2)", "hotfix 2 deployed", "after deploy signed off (hotfix 2)")

	// The card's Request hotfix button opens the dialog; its submission
	// (with someone else as the author) opens hotfix 3, which its
	// requester withdraws.
	click(t, ctx, dev, s.Card.Id, "Request hotfix")
	resp, err := srv.SubmitDialog(ctx, dev, model.SubmitDialogRequest{URL: "/plugins/" + pluginID + "/api/v1/dialogs/hotfix",
		CallbackId: "hotfix", State: s.ID, ChannelId: s.Channel.Id, Submission: map[string]any{"description": "Tune the retry budget", "author": qa1.Id}})
	if err != nil || resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("hotfix dialog: %+v %v", resp, err)
	}
	post3 := signoffPost(t, ctx, qa2, s.Channel.Id, "3")
	mustContain(t, "hotfix 3 post", harness.PostText(post3), "Tune the retry budget", "fix by "+quiet(qa1))
	mustContain(t, "author signs", cmd(t, qa1, srv.TownSquare.Id, "/incident signoff"+ref+"qa approve").Text, "you made this fix")
	mustContain(t, "outsider cancels", cmd(t, outsider, srv.TownSquare.Id, "/incident hotfix-cancel"+ref+"not mine").Text, "only the requester")
	mustContain(t, "cancel", cmd(t, dev, srv.TownSquare.Id, "/incident hotfix-cancel"+ref+"superseded by a config change").Text, "Hotfix 3 on #"+s.ID+" cancelled")
	waitPostAs(t, ctx, qa2, post3.Id, "superseded by a config change")

	// The postmortem has the Release and hotfix section.
	cmd(t, r.holder["im"], s.Channel.Id, "/incident resolve Pool raised, cache rolled back")
	pm := waitPost(t, sup, s.Channel.Id, "Release and hotfix")
	full := harness.PostText(pm)
	for _, p := range postsAfter(t, ctx, sup, s.Channel.Id, pm) {
		full += harness.PostText(p)
	}
	mustContain(t, "postmortem", full, "### Hotfix 1: rejected in staging", "Checkout still fails for saved cards",
		"### Hotfix 2: signed off", "approved by "+quiet(qa2), "**Deployed:** by "+quiet(rm2), "Time from request to deploy")
	// The release manager acknowledged a hotfix page, which is not a
	// response to the incident: the first line's page went unanswered.
	mustContain(t, "time to acknowledge", full, "Time to first acknowledgement:** never acknowledged")
}

// postsAfter returns the bot's posts in channelID created after p.
func postsAfter(t *testing.T, ctx context.Context, u *harness.User, channelID string, p *model.Post) []*model.Post {
	t.Helper()
	posts, err := srv.Posts(ctx, u, channelID)
	if err != nil {
		t.Fatal(err)
	}
	var out []*model.Post
	for _, q := range posts {
		if q.UserId == botUser.Id && q.CreateAt > p.CreateAt {
			out = append(out, q)
		}
	}
	return out
}

var holdingRow = regexp.MustCompile(`(?m)^- #([a-z0-9]+) \*\*`)

// TestReleaseFreezeWhileS1Open: opening an S1 incident starts a release
// freeze, announced once in the broadcast channel; /incident freeze shows
// it with the incident's hotfix as the exception; resolving it ends the
// freeze, announced once.
func TestReleaseFreezeWhileS1Open(t *testing.T) {
	ctx := ctxT(t)
	setHotfixSettings(t, ctx)
	// Earlier tests leave S1 incidents open; the freeze under test must be
	// this test's own.
	for _, m := range holdingRow.FindAllStringSubmatch(cmd(t, srv.Admin, srv.TownSquare.Id, "/incident freeze").Text, -1) {
		cmd(t, srv.Admin, srv.TownSquare.Id, "/incident resolve #"+m[1]+" left over by an earlier test")
	}
	u := srv.Users[5]
	waitCmd(t, u, srv.TownSquare.Id, "/incident freeze", "No release freeze")

	s := start(t, u, "Whole site down --severity S1")
	waitPost(t, u, broadcast.Id, "Release freeze", "#"+s.ID)
	mustContain(t, "freeze", cmd(t, u, srv.TownSquare.Id, "/incident freeze").Text, "Release freeze** in force", "#"+s.ID, "Whole site down")
	waitTicks(t, ctx, 2)
	if n := countPosts(t, ctx, u, broadcast.Id, "Release freeze** from", "#"+s.ID); n != 1 {
		t.Errorf("the freeze start was announced %d times", n)
	}

	mustContain(t, "resolve", cmd(t, u, srv.TownSquare.Id, "/incident resolve #"+s.ID+" back up").Text, "resolved")
	waitPost(t, u, broadcast.Id, "Release freeze ended")
	waitCmd(t, u, srv.TownSquare.Id, "/incident freeze", "No release freeze", "The last freeze ended")
	// Polled: on a server that ran this test before, the broadcast channel
	// already shows an earlier "Release freeze ended".
	waitCmd(t, u, srv.TownSquare.Id, "/incident timeline #"+s.ID, "release freeze started", "release freeze ended")
}

// countPosts counts the bot's posts in channelID that contain all of want.
func countPosts(t *testing.T, ctx context.Context, u *harness.User, channelID string, want ...string) int {
	t.Helper()
	posts, err := srv.Posts(ctx, u, channelID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range posts {
		if p.UserId == botUser.Id && containsAll(harness.PostText(p), want...) {
			n++
		}
	}
	return n
}

// TestHotfixFourEyesCoversTheRequester: whoever requests someone else's
// fix is a fixer too. They cannot be named its release manager, are not
// asked to sign, and neither their buttons nor their commands sign any
// group or mark it deployed; a release manager who requests a fix is
// substituted by the next one on the rota.
func TestHotfixFourEyesCoversTheRequester(t *testing.T) {
	ctx := ctxT(t)
	setHotfixSettings(t, ctx)
	p := "fe" + uniq()
	r := newPagingRota(t, ctx, p)
	rm1, rm2 := newUser(t, ctx, p+"-rm1"), newUser(t, ctx, p+"-rm2")
	req, dev, qa1, sup := newUser(t, ctx, p+"-req"), newUser(t, ctx, p+"-dev"), newUser(t, ctx, p+"-qa1"), newUser(t, ctx, p+"-sup")
	for _, u := range []*harness.User{rm1, rm2} {
		if _, _, err := srv.Admin.Client.AddChannelMember(ctx, r.channel.Id, u.Id); err != nil {
			t.Fatal(err)
		}
	}
	mustContain(t, "rota set rm", cmd(t, srv.Admin, r.channel.Id, "/incident rota set rm @"+rm1.Username).Text, "rota set")
	t.Cleanup(func() {
		_, _ = srv.ExecuteCommand(context.Background(), srv.Admin, r.channel.Id, "/incident rota remove rm @"+rm1.Username)
		_, _ = srv.ExecuteCommand(context.Background(), srv.Admin, r.channel.Id, "/incident rota remove rm @"+rm2.Username)
	})
	mustContain(t, "rota add rm", cmd(t, srv.Admin, r.channel.Id, "/incident rota add rm @"+rm2.Username).Text, "rota")
	// The requester belongs to both groups.
	mustContain(t, "set qa", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident signoff-group set qa @"+req.Username+" @"+qa1.Username).Text, "Sign-off group qa saved")
	mustContain(t, "set support", cmd(t, srv.Admin, srv.TownSquare.Id, "/incident signoff-group set support @"+sup.Username+" @"+req.Username).Text, "Sign-off group support saved")

	s := start(t, r.starter, "Search returns stale results --severity S2")
	ref := " #" + s.ID + " "

	// Naming a fixer as release manager is refused, saying what to do.
	mustContain(t, "requester as rm", cmd(t, req, srv.TownSquare.Id, "/incident hotfix"+ref+"--author @"+dev.Username+" --rm @"+req.Username+" Rebuild the index").Text,
		"you requested this fix", "four eyes", "`--rm @someone`")
	mustContain(t, "author as rm", cmd(t, req, srv.TownSquare.Id, "/incident hotfix"+ref+"--author @"+dev.Username+" --rm @"+dev.Username+" Rebuild the index").Text,
		"@"+dev.Username+" made this fix", "four eyes")
	mustContain(t, "nothing requested", cmd(t, req, srv.TownSquare.Id, "/incident hotfix"+ref).Text, "has no hotfix request")

	mustContain(t, "hotfix 1", cmd(t, req, srv.TownSquare.Id, "/incident hotfix"+ref+"--author @"+dev.Username+" Rebuild the index").Text,
		"Hotfix 1 requested", "@"+rm1.Username+" releases it")
	post := signoffPost(t, ctx, qa1, s.Channel.Id, "1")
	mustContain(t, "sign-off post", harness.PostText(post), "Requested by "+quiet(req), "fix by "+quiet(dev),
		"**qa** (@"+qa1.Username+")", "**support** (@"+sup.Username+")", "⏳ qa: waiting for "+quiet(qa1), "⏳ support: waiting for "+quiet(sup))
	if strings.Contains(post.Message, "@"+req.Username+",") || strings.Contains(post.Message, "@"+req.Username+")") {
		t.Errorf("the requester is asked to sign:\n%s", post.Message)
	}

	// The requester's commands and buttons sign nothing, for either group.
	for _, g := range []string{"qa", "support"} {
		mustContain(t, "requester signs "+g, cmd(t, req, srv.TownSquare.Id, "/incident signoff"+ref+g+" approve").Text,
			"you requested this fix", "four eyes", "another member of "+g)
	}
	mustContain(t, "requester rejects", cmd(t, req, srv.TownSquare.Id, "/incident signoff"+ref+"qa reject looks wrong").Text, "you requested this fix")
	click(t, ctx, req, post.Id, "Approve qa")
	click(t, ctx, req, post.Id, "Approve support")
	click(t, ctx, qa1, post.Id, "Approve qa")
	click(t, ctx, sup, post.Id, "Approve support")
	got := waitPostAs(t, ctx, sup, post.Id, "Waiting for the release manager")
	mustContain(t, "staging signed", harness.PostText(got), "✅ qa: approved by "+quiet(qa1), "✅ support: approved by "+quiet(sup))

	// Nor do they release it.
	mustContain(t, "requester deploys", cmd(t, req, srv.TownSquare.Id, "/incident deployed"+ref).Text, "you requested this fix", "may not release it")
	mustContain(t, "author deploys", cmd(t, dev, srv.TownSquare.Id, "/incident deployed"+ref).Text, "you made this fix", "may not release it")
	click(t, ctx, req, post.Id, "Deployed")
	click(t, ctx, rm1, post.Id, "Deployed")
	waitPostAs(t, ctx, rm1, post.Id, "🚀 Deployed by "+quiet(rm1))
	click(t, ctx, req, post.Id, "Approve qa")
	click(t, ctx, qa1, post.Id, "Approve qa")
	click(t, ctx, sup, post.Id, "Approve support")
	done := waitPostAs(t, ctx, sup, post.Id, "Signed off after deploy")
	if txt := harness.PostText(done); strings.Contains(txt, "approved by "+quiet(req)) || strings.Contains(txt, "Deployed by "+quiet(req)) {
		t.Errorf("the requester signed or deployed:\n%s", harness.PostText(done))
	}

	// The release manager requests a fix: the next one releases it.
	mustContain(t, "hotfix 2", cmd(t, rm1, srv.TownSquare.Id, "/incident hotfix"+ref+"--author @"+dev.Username+" Warm the cache").Text,
		"Hotfix 2 requested", "@"+rm2.Username+" releases it")
	post2 := signoffPost(t, ctx, qa1, s.Channel.Id, "2")
	mustContain(t, "substitution", harness.PostText(post2), quiet(rm1)+" requested the fix and may not release it")
	mustContain(t, "cancel", cmd(t, rm1, srv.TownSquare.Id, "/incident hotfix-cancel"+ref+"not needed").Text, "cancelled")
	cmd(t, r.holder["im"], s.Channel.Id, "/incident resolve Index rebuilt")
}
