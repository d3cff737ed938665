package main

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/alias"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestHandleUses(t *testing.T) {
	h, err := alias.ParseHandles(alias.DefaultHandles, alias.DefaultGroupPattern)
	if err != nil {
		t.Fatal(err)
	}
	post := func(user, msg string, props map[string]any, typ string) *model.Post {
		p := &model.Post{UserId: user, Message: msg, Type: typ}
		for k, v := range props {
			p.AddProp(k, v)
		}
		return p
	}
	cases := []struct {
		name string
		post *model.Post
		want []string
	}{
		{"handle", post("u", "hey @release-manager, and @alice", nil, ""), []string{"release-manager"}},
		{"group handle", post("u", "@qa-signoff please", nil, ""), []string{"qa-signoff"}},
		{"page", post("u", "@first-line !page down", nil, ""), []string{"first-line"}},
		{"no at", post("u", "release-manager", nil, ""), nil},
		{"code", post("u", "`@release-manager`", nil, ""), nil},
		{"the bot", post("bot", "@release-manager", nil, ""), nil},
		{"a bot", post("u", "@release-manager", map[string]any{model.PostPropsFromBot: "true"}, ""), nil},
		{"a webhook", post("u", "@release-manager", map[string]any{model.PostPropsFromWebhook: "true"}, ""), nil},
		{"a plugin", post("u", "@release-manager", map[string]any{model.PostPropsFromPlugin: "true"}, ""), nil},
		{"system", post("u", "@release-manager", nil, model.PostTypeHeaderChange), nil},
		{"nil", nil, nil},
	}
	for _, c := range cases {
		var got []string
		for _, u := range handleUses(c.post, "bot", h) {
			got = append(got, u.Name)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestConfigurationHandles(t *testing.T) {
	c := &configuration{}
	c.SetDefaults()
	if err := c.parse(); err != nil {
		t.Fatal(err)
	}
	if got := c.appSettings().Handles; got.Roles[incident.RoleRM] != "release-manager" || got.Rota != "delivery-rota" || got.GroupHandle("qa") != "qa-signoff" {
		t.Fatalf("default handles: %+v", got)
	}
	for _, bad := range [][2]string{{"rm=x y", ""}, {"rm=same, im=same", ""}, {"rm=release-manager", "signoff"}} {
		c := &configuration{OnDutyHandles: bad[0], SignoffGroupHandle: bad[1]}
		c.SetDefaults()
		if err := c.parse(); err == nil || !strings.Contains(err.Error(), "on-duty handle") {
			t.Errorf("%q %q: %v", bad[0], bad[1], err)
		}
	}
	// A user named like a handle: applied, with a warning for the admins.
	warnings := c.resolve(nil, func(n string) (string, bool) { return "id", n == "release-manager" })
	if len(warnings) != 1 || !strings.Contains(warnings[0], "@release-manager") {
		t.Fatalf("warnings: %q", warnings)
	}
}
