package plugin_test

import (
	"github.com/mattermost/mattermost/server/public/model"

	"strings"
	"testing"
)

func TestStartCreatesChannelCardAndAnnouncement(t *testing.T) {
	alice := srv.Users[0]
	s := start(t, alice, "Checkout fails in EU --severity S2 --summary Card payments time out")

	if !strings.HasPrefix(s.Channel.Name, "incident-"+s.ID+"-checkout-fails-in-eu") || s.Channel.Type != "O" {
		t.Errorf("channel = %q type %q", s.Channel.Name, s.Channel.Type)
	}
	if _, _, err := alice.Client.GetChannelMember(ctxT(t), s.Channel.Id, alice.Id, ""); err != nil {
		t.Errorf("starter is not a member of the incident channel: %v", err)
	}
	att := s.Card.Attachments()[0]
	mustContain(t, "card title", att.Title, "#"+s.ID, "Checkout fails in EU")
	mustContain(t, "card summary", att.Text, "Card payments time out")
	if got := cardField(s.Card, "Severity"); got != "S2 (major)" {
		t.Errorf("card severity = %q", got)
	}
	if got := cardField(s.Card, "Status"); got != "Open" {
		t.Errorf("card status = %q", got)
	}
	mustContain(t, "card roles", cardField(s.Card, "Roles"), "Incident manager", "Release manager")
	if got := strings.Join(cardActions(s.Card), ","); got != "update,mitigate,hotfix,resolve,severity" {
		t.Errorf("card actions = %s", got)
	}

	ann := waitPost(t, alice, broadcast.Id, "#"+s.ID, "started", "Checkout fails in EU")
	mustContain(t, "announcement", ann.Message, "~"+s.Channel.Name, "S2", "@"+alice.Username)

	tl := cmd(t, alice, s.Channel.Id, "/incident timeline").Text
	mustContain(t, "timeline", tl, "started", "@"+alice.Username)
}

func TestLifecycleByCommand(t *testing.T) {
	alice, bob := srv.Users[0], srv.Users[1]
	s := start(t, alice, "Search is slow")
	if _, _, err := srv.Admin.Client.AddChannelMember(ctxT(t), s.Channel.Id, bob.Id); err != nil {
		t.Fatal(err)
	}
	steps := []struct{ who, command, reply string }{
		{"bob", "/incident update Found a hot shard; rebalancing", "Status update posted"},
		{"alice", "/incident note Shard 7 hit 95% CPU", "Note added"},
		{"bob", "/incident severity S1", "is now S1"},
		{"alice", "/incident mitigate", "marked mitigated"},
		{"alice", "/incident mitigate", "already mitigated"},
		{"bob", "/incident resolve Rebalanced shards; added an alert", "resolved"},
		{"bob", "/incident update too late", "is resolved"},
		{"alice", "/incident reopen Latency is back", "reopened"},
		{"alice", "/incident severity S2", "is now S2"},
	}
	users := map[string]int{"alice": 0, "bob": 1}
	for _, st := range steps {
		got := cmd(t, srv.Users[users[st.who]], s.Channel.Id, st.command).Text
		mustContain(t, st.command, got, st.reply)
	}

	waitPost(t, alice, s.Channel.Id, "Status update", "@"+bob.Username, "Found a hot shard")
	waitPost(t, alice, s.Channel.Id, "Note by", "Shard 7 hit 95% CPU")
	waitPost(t, alice, broadcast.Id, "#"+s.ID, "status update", "Found a hot shard")
	waitPost(t, alice, broadcast.Id, "#"+s.ID, "resolved", "Rebalanced shards")

	tl := waitCmd(t, alice, s.Channel.Id, "/incident timeline", "severity changed S1 → S2")
	order := []string{"started", "status update", "note", "severity changed S3 → S1", "mitigated", "resolved", "reopened", "severity changed S1 → S2"}
	pos := 0
	for _, ev := range order {
		i := strings.Index(tl[pos:], ev)
		if i < 0 {
			t.Fatalf("timeline lacks %q after position %d:\n%s", ev, pos, tl)
		}
		pos += i + len(ev)
	}
	if strings.Count(tl, "| mitigated") != 1 {
		t.Errorf("a refused transition reached the timeline:\n%s", tl)
	}

	c := waitCard(t, alice, s, "card shows reopened S2", func(p *model.Post) bool {
		return cardField(p, "Status") == "Open" && cardField(p, "Severity") == "S2 (major)"
	})
	if cardField(c, "Resolved") != "" {
		t.Errorf("reopened card still shows a resolution time")
	}
}

func TestListNewestFirstAndTimelineByID(t *testing.T) {
	carol := srv.Users[2]
	a := start(t, carol, "Old one")
	b := start(t, carol, "New one")
	list := cmd(t, carol, srv.TownSquare.Id, "/incident list").Text
	ia, ib := strings.Index(list, a.ID), strings.Index(list, b.ID)
	if ia < 0 || ib < 0 || ib > ia {
		t.Fatalf("list not newest first (%d, %d):\n%s", ia, ib, list)
	}
	cmd(t, carol, srv.TownSquare.Id, "/incident resolve #"+a.ID+" done")
	list = cmd(t, carol, srv.TownSquare.Id, "/incident list").Text
	if strings.Contains(list, a.ID) || !strings.Contains(list, b.ID) {
		t.Errorf("resolved incident still listed, or open one missing:\n%s", list)
	}
	waitCmd(t, carol, srv.TownSquare.Id, "/incident timeline "+a.ID, "Old one", "started", "resolved")
	mustContain(t, "update by #id", cmd(t, carol, srv.TownSquare.Id, "/incident update #"+b.ID+" from elsewhere").Text, "Status update posted")
}
