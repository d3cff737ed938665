package bot

import (
	"context"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest/mock"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// A retried step finds its earlier post by key and does not post again; a
// first attempt posts with the key; outside a step nothing is keyed.
func TestCreateIsOncePerStep(t *testing.T) {
	since := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	api := &plugintest.API{}
	b := &Bot{api: api, userID: "botid"}
	var posted []*model.Post
	api.On("CreatePost", mock.Anything).Return(func(p *model.Post) (*model.Post, *model.AppError) {
		posted = append(posted, p)
		c := p.Clone()
		c.Id = model.NewId()
		return c, nil
	}).Maybe()

	// First attempt: posted, with the key.
	first := work.WithOnce(context.Background(), "inc1/3/0", false, since)
	p1, err := b.post(first, "ch1", "hello", nil)
	if err != nil || len(posted) != 1 || posted[0].GetProp(PropOnce) != "inc1/3/0/ch1/1" {
		t.Fatalf("first attempt: %v, posted %v", err, posted)
	}

	// Retry: the earlier post is in the channel, so it is returned.
	earlier := &model.Post{Id: p1.Id, UserId: "botid", ChannelId: "ch1", Message: "hello"}
	earlier.AddProp(PropOnce, "inc1/3/0/ch1/1")
	other := &model.Post{Id: "x", UserId: "someone", ChannelId: "ch1"}
	other.AddProp(PropOnce, "inc1/3/0/ch1/2") // not the bot's: ignored
	list := &model.PostList{Order: []string{p1.Id, "x"}, Posts: map[string]*model.Post{p1.Id: earlier, "x": other}}
	api.On("GetPostsSince", "ch1", since.Add(-work.MaxClockSkew).UnixMilli()).Return(list, nil)
	retry := work.WithOnce(context.Background(), "inc1/3/0", true, since)
	got, err := b.post(retry, "ch1", "hello", nil)
	if err != nil || got.Id != p1.Id || len(posted) != 1 {
		t.Fatalf("retry found %v (%v); posts made %d, want the earlier post and no new one", got, err, len(posted))
	}
	// The second post of the same step had not been made: it is made now.
	if _, err := b.post(retry, "ch1", "second", nil); err != nil || len(posted) != 2 || posted[1].GetProp(PropOnce) != "inc1/3/0/ch1/2" {
		t.Fatalf("second post of the retried step: %v, posted %d", err, len(posted))
	}

	// An update replaces every prop: the key is carried over from the post.
	api.On("GetPost", p1.Id).Return(posted[0], nil)
	api.On("UpdatePost", mock.Anything).Return(func(p *model.Post) (*model.Post, *model.AppError) { return p, nil })
	if got, appErr := b.update(context.Background(), &model.Post{Id: p1.Id, ChannelId: "ch1", Message: "re-rendered"}); appErr != nil || got.GetProp(PropOnce) != "inc1/3/0/ch1/1" {
		t.Fatalf("update lost the key: %v, props %v", appErr, got.GetProps())
	}
	// This process made the post: it knew the key without reading it.
	api.AssertNotCalled(t, "GetPost", p1.Id)
	// A post another node made is read for its key.
	other.UserId = "botid"
	api.On("GetPost", "x").Return(other, nil)
	if got, appErr := b.update(context.Background(), &model.Post{Id: "x", ChannelId: "ch1", Message: "re-rendered"}); appErr != nil || got.GetProp(PropOnce) != "inc1/3/0/ch1/2" {
		t.Fatalf("update of another node's post lost its key: %v, props %v", appErr, got.GetProps())
	}

	// Outside a step: no key, no look.
	if _, err := b.post(context.Background(), "ch2", "plain", nil); err != nil || posted[2].GetProp(PropOnce) != nil {
		t.Fatalf("plain post: %v, props %v", err, posted[2].GetProps())
	}
}

// PagePosts finds the page's root posts by the bot in the page channel and
// the targets' direct messages, with their level, and nothing else.
func TestPagePostsFindsAPagesPosts(t *testing.T) {
	since := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	api := &plugintest.API{}
	b := &Bot{api: api, userID: "botid"}
	p := &app.Page{ID: "inc1-p", ChannelID: "rota", Targets: []app.PageTarget{{UserID: "ann"}, {UserID: "bob"}}}
	api.On("GetDirectChannel", "botid", "ann").Return(&model.Channel{Id: "dm-ann"}, nil)
	api.On("GetDirectChannel", "botid", "bob").Return(&model.Channel{Id: "dm-bob"}, nil)
	post := func(id, user, root, page, level string) *model.Post {
		p := &model.Post{Id: id, UserId: user, RootId: root}
		if page != "" {
			p.AddProp(wire.PropPageID, page)
		}
		if level != "" {
			p.AddProp(wire.PropPageLevel, level)
		}
		return p
	}
	lists := map[string][]*model.Post{
		"rota":   {post("r1", "botid", "", "inc1-p", "1"), post("r2", "botid", "", "inc1-p", "2"), post("x1", "botid", "", "other-p", "1"), post("x2", "botid", "r1", "inc1-p", "1")},
		"dm-ann": {post("a1", "botid", "", "inc1-p", ""), post("x3", "ann", "", "inc1-p", "1")},
		"dm-bob": {post("b1", "botid", "", "inc1-p", "2")},
	}
	for ch, posts := range lists {
		l := model.NewPostList()
		for _, p := range posts {
			l.AddPost(p)
			l.AddOrder(p.Id)
		}
		api.On("GetPostsSince", ch, since.UnixMilli()).Return(l, nil)
	}
	got, err := b.PagePosts(context.Background(), p, since)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]app.PagePost{
		"r1": {ID: "r1", ChannelID: "rota", Level: 1}, "r2": {ID: "r2", ChannelID: "rota", Level: 2},
		"a1": {ID: "a1", ChannelID: "dm-ann", Level: 1, DM: true}, "b1": {ID: "b1", ChannelID: "dm-bob", Level: 2, DM: true},
	}
	if len(got) != len(want) {
		t.Fatalf("found %+v, want %+v", got, want)
	}
	for _, pp := range got {
		if want[pp.ID] != pp {
			t.Errorf("found %+v, want %+v", pp, want[pp.ID])
		}
	}
}
