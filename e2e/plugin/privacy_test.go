package plugin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
)

// TestPrivateIncidentIsRedactedInSharedChannels: with private incident
// channels and the default disclosure (redacted), the broadcast channel,
// the postmortems channel and the rota channel learn an incident's id,
// severity, status and whom to ask, never its title, summary, update
// text, resolution or postmortem; the paged person's DM and the incident
// channel keep the details. With disclosure "none" they learn nothing.
func TestPrivateIncidentIsRedactedInSharedChannels(t *testing.T) {
	ctx := ctxT(t)
	id := uniq()
	secret := "Secretpayroll" + id
	pmCh, err := srv.NewChannel(ctx, "postmortems-"+id, false, srv.Users...)
	if err != nil {
		t.Fatal(err)
	}
	setPaging(t, ctx, "S1=10m, S2=10m, S3=10m, S4=off", "off")
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"PrivateChannels": true, "PostmortemChannelID": pmCh.Id}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.PatchPluginConfig(context.Background(), pluginID, map[string]any{"PrivateChannels": false,
			"PostmortemChannelID": "", "PrivateIncidentDisclosure": "redacted"}); err != nil {
			t.Error(err)
		}
	})
	r := newPagingRota(t, ctx, "prv"+id)
	im, l1 := r.holder["im"], r.holder["l1"]

	s := start(t, r.starter, secret+" leak --severity S2 --summary "+secret+" summary")
	if s.Channel.Type != model.ChannelTypePrivate {
		t.Fatalf("incident channel is %q, want private", s.Channel.Type)
	}
	in := func(c string) string { return cmd(t, im, s.Channel.Id, c).Text }
	// The first line's page comes before anything else is done: a
	// resolved incident pages nobody.
	ref := "#" + s.ID
	rotaPage := waitPost(t, srv.Admin, r.channel.Id, ref, "please respond")
	mustContain(t, "update", in("/incident update "+secret+" update text"), "posted")
	// Someone paged by name is brought into the private channel, so the
	// details their page gives are theirs to see.
	byName := newUser(t, ctx, "prvx"+id)
	in("/incident page @" + byName.Username + " please check the payroll export")
	harness.Eventually(t, wait, "@"+byName.Username+" in the incident channel", func() (bool, error) {
		_, _, err := byName.Client.GetChannelMember(ctx, s.Channel.Id, byName.Id, "")
		return err == nil, nil
	})
	mustContain(t, "resolve", in("/incident resolve "+secret+" resolution"), "resolved")

	// What each shared channel sees, once all of it is there.
	announce := waitPost(t, srv.Admin, broadcast.Id, "Private incident "+ref+" started")
	update := waitPost(t, srv.Admin, broadcast.Id, "Private incident "+ref, "status update")
	resolved := waitPost(t, srv.Admin, broadcast.Id, "Private incident "+ref, "resolved")
	stub := waitPost(t, srv.Admin, pmCh.Id, "Postmortem of private incident "+ref)
	for what, p := range map[string]*model.Post{"rota page": rotaPage, "announcement": announce, "update": update, "resolution": resolved, "postmortem": stub} {
		text := harness.PostText(p)
		if strings.Contains(strings.ToLower(text), strings.ToLower(secret)) {
			t.Errorf("%s in a shared channel shows the private incident's details:\n%s", what, text)
		}
		if !strings.Contains(text, "@\u200b"+im.Username) && what != "rota page" {
			t.Errorf("%s does not say whom to ask (@%s):\n%s", what, im.Username, text)
		}
		if len(p.FileIds) > 0 {
			t.Errorf("%s carries files %v", what, p.FileIds)
		}
	}
	mustContain(t, "announcement severity", harness.PostText(announce), "S2")
	// Inside, the details stay: the paged person's DM and the incident
	// channel's postmortem.
	waitPost(t, l1, dm(t, ctx, l1).Id, secret, "please respond")
	waitPost(t, im, s.Channel.Id, "Postmortem", secret)

	// With "none", shared channels hear nothing of a private incident.
	if err := srv.PatchPluginConfig(ctx, pluginID, map[string]any{"PrivateIncidentDisclosure": "none"}); err != nil {
		t.Fatal(err)
	}
	s2 := start(t, r.starter, "Hidden"+id+" --severity S2")
	// The page first (a resolved incident pages nobody), then the
	// resolution, whose last step is the postmortem in its own channel.
	waitPost(t, l1, dm(t, ctx, l1).Id, "Hidden"+id, "please respond")
	mustContain(t, "resolve hidden", cmd(t, im, s2.Channel.Id, "/incident resolve").Text, "resolved")
	waitPost(t, im, s2.Channel.Id, "Postmortem")
	for _, ch := range []*model.Channel{broadcast, pmCh, r.channel} {
		posts, err := srv.Posts(ctx, srv.Admin, ch.Id)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range posts {
			if text := harness.PostText(p); strings.Contains(text, "#"+s2.ID) || strings.Contains(text, "Hidden"+id) {
				t.Errorf("channel %s heard of an incident it may not see:\n%s", ch.Name, text)
			}
		}
	}
}
