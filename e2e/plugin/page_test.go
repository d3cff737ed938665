package plugin_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// TestStartPagesFirstLineAcknowledgementStopsIt: starting an incident pages
// the on-duty first line in the rota channel and by DM, each with an
// Acknowledge button; acknowledging from the DM updates both posts, and
// neither a re-notification nor an escalation follows.
func TestStartPagesFirstLineAcknowledgementStopsIt(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=6s, S2=6s, S3=6s, S4=off", "5s")
	r := newPagingRota(t, ctx, "pg1"+uniq())
	l1, l2 := r.holder["l1"], r.holder["l2"]
	s := start(t, r.starter, "Payments down --severity S2")

	inRota := waitPagePost(t, ctx, l1, r.channel.Id, l1)
	id, _ := inRota.GetProp("page_id").(string)
	var inDM *model.Post
	harness.Eventually(t, wait, "page DM to the first line", func() (bool, error) {
		ps := pagePosts(t, ctx, l1, dm(t, ctx, l1).Id, id)
		if len(ps) == 1 {
			inDM = ps[0]
		}
		return inDM != nil, nil
	})
	for _, p := range []*model.Post{inRota, inDM} {
		mustContain(t, "page post", harness.PostText(p), "Page: incident #"+s.ID, "Payments down", "as **First line**", "S2 (major)", "⏳ Not acknowledged yet")
		if !hasButton(p, "ackpage") {
			t.Fatalf("page post without Acknowledge button: %s", harness.PostText(p))
		}
	}
	// The mention in the rota channel is a real one.
	harness.Eventually(t, wait, "@"+l1.Username+" mentioned", func() (bool, error) {
		m, _, err := l1.Client.GetChannelMember(ctx, r.channel.Id, l1.Id, "")
		return err == nil && m.MentionCount >= 1, err
	})

	// Someone the page did not go to is refused (the reply is ephemeral):
	// when the first line's later click shows, the stranger's (answered
	// before it) has left no trace.
	if _, err := srv.ClickButton(ctx, r.starter, inRota.Id, "ackpage"); err != nil {
		t.Fatal(err)
	}
	// A user's look-alike post carrying the page's id and button is not
	// the page's.
	fake := &model.Post{ChannelId: r.channel.Id, Message: "acknowledge here"}
	fake.AddProp("page_id", id)
	fake.AddProp("attachments", []*model.MessageAttachment{{Actions: []*model.PostAction{{Id: "ackpage", Name: "Acknowledge", Type: "button",
		Integration: &model.PostActionIntegration{URL: "/plugins/" + pluginID + "/api/v1/actions/ackpage", Context: map[string]any{"page_id": id}}}}}})
	fake, _, err := l1.Client.CreatePost(ctx, fake)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ClickButton(ctx, l1, fake.Id, "ackpage"); err == nil {
		t.Errorf("a button on a user's post was accepted as the page's")
	}
	if got := postTextNowAs(t, ctx, l1, inRota.Id); !strings.Contains(got, "⏳ Not acknowledged yet") {
		t.Fatalf("a refused click changed the page:\n%s", got)
	}
	if _, err := srv.ClickButton(ctx, l1, inDM.Id, "ackpage"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*model.Post{inRota, inDM} {
		if got := waitPostAs(t, ctx, l1, p.Id, acked(l1)); hasButton(got, "ackpage") || strings.Contains(harness.PostText(got), "Not acknowledged") {
			t.Errorf("acknowledged post still asks for it: %s", harness.PostText(got))
		}
	}

	// Past the re-notify interval and the escalation timeout, plus ticks:
	// nothing new.
	waitTicks(t, ctx, 3)
	if ps := pagePosts(t, ctx, l1, r.channel.Id, ""); len(ps) != 1 {
		t.Errorf("%d page posts in the rota channel, want 1", len(ps))
	}
	if ps := pagePosts(t, ctx, l2, dm(t, ctx, l2).Id, ""); len(ps) != 0 {
		t.Errorf("the second line was paged after the acknowledgement")
	}
	posts, err := srv.Posts(ctx, l1, r.channel.Id)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range posts {
		if p.RootId != "" && p.UserId == botUser.Id {
			t.Errorf("re-notified after the acknowledgement: %q", p.Message)
		}
	}
	tl := cmd(t, r.starter, s.Channel.Id, "/incident timeline").Text
	mustContain(t, "timeline", tl, "paged: @"+l1.Username+" as First line (level 1)", "page acknowledged: page to @"+l1.Username+" (level 1)")
	for _, no := range []string{"page escalated", "page renotified"} {
		if strings.Contains(tl, no) {
			t.Errorf("timeline shows %q after the acknowledgement:\n%s", no, tl)
		}
	}
}

// TestUnansweredPageEscalatesInOrder: a page nobody acknowledges escalates
// to L2, then L3, then the IM, each by DM and in the rota channel, in that
// order on the timeline; the observed lateness of each escalation is
// logged.
func TestUnansweredPageEscalatesInOrder(t *testing.T) {
	ctx := ctxT(t)
	const timeout = 3 * time.Second
	setPaging(t, ctx, "S1=3s, S2=3s, S3=3s, S4=off", "off")
	r := newPagingRota(t, ctx, "pg2"+uniq())
	s := start(t, r.starter, "Search returns nothing --severity S1")

	var posts []*model.Post
	for _, role := range []string{"l1", "l2", "l3", "im"} {
		u := r.holder[role]
		posts = append(posts, waitPagePost(t, ctx, u, r.channel.Id, u))
		harness.Eventually(t, wait, "page DM to "+role, func() (bool, error) {
			return len(pagePosts(t, ctx, u, dm(t, ctx, u).Id, "")) == 1, nil
		})
	}
	// A level's wait starts when its page is claimed, a few milliseconds
	// before its post is made: the measure is good to those milliseconds.
	for i := 1; i < len(posts); i++ {
		late := time.Duration(posts[i].CreateAt-posts[i-1].CreateAt)*time.Millisecond - timeout
		t.Logf("escalation to level %d: %s after its due time", i+1, late)
		if late < -100*time.Millisecond || late > 10*time.Second {
			t.Errorf("escalation to level %d fired %s after its due time", i+1, late)
		}
	}
	mustContain(t, "escalation message", posts[1].Message, "Escalated: @\u200b"+r.holder["l1"].Username+" did not acknowledge")
	// The first post shows the whole escalation.
	waitPostAs(t, ctx, r.holder["l1"], posts[0].Id, "Level 4: @\u200b"+r.holder["im"].Username)

	// The timeline entry follows each notification's posts.
	var tl string
	harness.Eventually(t, wait, "the escalation to the IM on the timeline", func() (bool, error) {
		tl = cmd(t, r.starter, s.Channel.Id, "/incident timeline").Text
		return strings.Contains(tl, "(level 4)"), nil
	})
	var at []int
	for _, want := range []string{
		"paged: @" + r.holder["l1"].Username + " as First line (level 1)",
		"page escalated: to @" + r.holder["l2"].Username + " as Second line (level 2)",
		"page escalated: to @" + r.holder["l3"].Username + " as Third line (level 3)",
		"page escalated: to @" + r.holder["im"].Username + " as Incident manager (level 4)",
	} {
		i := strings.Index(tl, want)
		if i < 0 {
			t.Fatalf("timeline lacks %q:\n%s", want, tl)
		}
		at = append(at, i)
	}
	if !slices.IsSorted(at) {
		t.Errorf("escalations out of order on the timeline:\n%s", tl)
	}
	// The IM is the end of the chain: nothing further.
	waitTicks(t, ctx, 2)
	if n := len(pagePosts(t, ctx, r.starter, r.channel.Id, "")); n != 4 {
		t.Errorf("%d page posts, want 4", n)
	}
	if _, err := srv.ClickButton(ctx, r.holder["im"], posts[3].Id, "ackpage"); err != nil {
		t.Fatal(err)
	}
	waitPostAs(t, ctx, r.holder["l1"], posts[0].Id, acked(r.holder["im"]))
}

// TestConcurrentAcknowledgementsRecordOne: 50 clicks at once on a page's
// two posts record exactly one acknowledgement.
func TestConcurrentAcknowledgementsRecordOne(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=10m, S2=10m, S3=10m, S4=off", "off")
	r := newPagingRota(t, ctx, "pg3"+uniq())
	l1 := r.holder["l1"]
	s := start(t, r.starter, "Login loop --severity S3")
	inRota := waitPagePost(t, ctx, l1, r.channel.Id, l1)
	id, _ := inRota.GetProp("page_id").(string)
	inDM := waitPageDM(t, ctx, l1, id)

	// Half the clicks on each post, all at once. Clicks that arrive after
	// the first acknowledgement has removed the button are refused by the
	// server itself ("Invalid action id"); the rest reach the plugin.
	const clicks = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		reached int
	)
	startGun := make(chan struct{})
	for i := range clicks {
		post := inRota
		if i%2 == 1 {
			post = inDM
		}
		wg.Go(func() {
			<-startGun
			_, err := srv.ClickButton(ctx, l1, post.Id, "ackpage")
			switch {
			case err == nil:
				mu.Lock()
				reached++
				mu.Unlock()
			case !strings.Contains(err.Error(), "Invalid action id"):
				t.Error(err)
			}
		})
	}
	close(startGun)
	wg.Wait()
	t.Logf("%d of %d concurrent clicks reached the plugin; the server refused the rest once the button was gone", reached, clicks)
	if reached == 0 {
		t.Fatal("no click reached the plugin")
	}
	// Every click has been answered; once the posts show the
	// acknowledgement, its follow-up (event first, then the posts) is done
	// and the timeline is final.
	for _, p := range []*model.Post{inRota, inDM} {
		waitPostAs(t, ctx, l1, p.Id, acked(l1))
	}
	tl := cmd(t, r.starter, s.Channel.Id, "/incident timeline").Text
	if n := strings.Count(tl, "page acknowledged"); n != 1 {
		t.Errorf("%d acknowledgements on the timeline, want 1:\n%s", n, tl)
	}
}

// TestPendingEscalationSurvivesDisableEnable: an escalation that falls due
// while the plugin is disabled fires once after it is enabled again.
func TestPendingEscalationSurvivesDisableEnable(t *testing.T) {
	ctx := ctxT(t)
	const timeout = 6 * time.Second
	setPaging(t, ctx, "S1=6s, S2=6s, S3=6s, S4=off", "off")
	r := newPagingRota(t, ctx, "pg4"+uniq())
	l1, l2 := r.holder["l1"], r.holder["l2"]
	start(t, r.starter, "Queue backlog --severity S2")
	first := waitPagePost(t, ctx, l1, r.channel.Id, l1)
	if err := srv.DisablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	enabled := false
	t.Cleanup(func() {
		if !enabled {
			_ = srv.EnablePlugin(context.Background(), pluginID)
		}
	})
	// While disabled, and until well past the due time, nothing fires.
	due := time.UnixMilli(first.CreateAt).Add(timeout)
	l2DM := dm(t, ctx, l2)
	harness.Eventually(t, timeout+wait, "the escalation's due time to pass while disabled", func() (bool, error) {
		if n := len(pagePosts(t, ctx, l2, l2DM.Id, "")); n != 0 {
			t.Errorf("the escalation fired while the plugin was disabled")
			return true, nil
		}
		return time.Now().After(due.Add(2 * time.Second)), nil
	})
	if err := srv.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	enabled = true
	enabledAt := time.Now()
	second := waitPagePost(t, ctx, l2, l2DM.Id, l2)
	t.Logf("escalation fired %s after enabling (due %s before enabling)",
		time.UnixMilli(second.CreateAt).Sub(enabledAt).Round(time.Millisecond), enabledAt.Sub(due).Round(time.Millisecond))
	// Acknowledge to stop the chain, then make sure the escalation to L2
	// happened exactly once.
	if _, err := srv.ClickButton(ctx, l2, second.Id, "ackpage"); err != nil {
		t.Fatal(err)
	}
	waitPostAs(t, ctx, l2, second.Id, acked(l2))
	waitTicks(t, ctx, 2)
	n := 0
	for _, p := range pagePosts(t, ctx, l2, r.channel.Id, "") {
		if strings.Contains(p.Message, "@"+l2.Username+", please respond") {
			n++
		}
	}
	if dms := len(pagePosts(t, ctx, l2, l2DM.Id, "")); n != 1 || dms != 1 {
		t.Errorf("escalation to L2 posted %d times in the rota channel and %d by DM, want once each", n, dms)
	}
}

// TestPageAndAcknowledgeLatency pages someone 50 times on demand and
// acknowledges each page, logging the acknowledge click's latency (median,
// p99) as a user waits for it.
func TestPageAndAcknowledgeLatency(t *testing.T) {
	ctx := ctxT(t)
	setPaging(t, ctx, "S1=10m, S2=10m, S3=10m, S4=off", "off")
	r := newPagingRota(t, ctx, "pg5"+uniq())
	target := r.holder["l3"]
	s := start(t, r.starter, "Latency probe --severity S4") // S4: no page at start
	targetDM := dm(t, ctx, target)
	seen := map[string]bool{}
	var took []time.Duration
	mustContain(t, "bad target", cmd(t, r.starter, s.Channel.Id, "/incident page nobody help").Text,
		`"nobody" is neither a role`, "Usage: `/incident page [#id] <role|@user> [message]`")
	for i := range 50 {
		who := "@" + target.Username
		if i == 0 {
			who = "l3" // the role's holder on this incident
		}
		reply := cmd(t, r.starter, s.Channel.Id, fmt.Sprintf("/incident page %s probe %d @channel", who, i)).Text
		mustContain(t, "page reply", reply, "Paged @"+target.Username)
		var post *model.Post
		harness.Eventually(t, wait, "the page's DM", func() (bool, error) {
			for _, p := range pagePosts(t, ctx, target, targetDM.Id, "") {
				if id, _ := p.GetProp("page_id").(string); !seen[id] {
					post = p
				}
			}
			return post != nil, nil
		})
		id, _ := post.GetProp("page_id").(string)
		seen[id] = true
		if i == 0 {
			mustContain(t, "sanitised message", post.Message, "probe 0 @\u200bchannel")
		}
		t0 := time.Now()
		_, err := srv.ClickButton(ctx, target, post.Id, "ackpage")
		took = append(took, time.Since(t0))
		if err != nil {
			t.Fatalf("acknowledge page %d: %v", i, err)
		}
		// The click is answered once the acknowledgement is stored; the
		// posts show it a moment later.
		waitPostAs(t, ctx, target, post.Id, acked(target))
	}
	slices.Sort(took)
	t.Logf("acknowledge click over %d pages: median %s, p99 %s, max %s", len(took),
		took[len(took)/2].Round(10*time.Microsecond), took[(len(took)*99+99)/100-1].Round(10*time.Microsecond), took[len(took)-1].Round(10*time.Microsecond))
}
