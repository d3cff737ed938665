package bot

import (
	"context"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest/mock"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// A card is re-rendered only when what it shows changes: status updates
// within the minute the card shows as the last update send nothing; one
// in the next minute, or a change of severity, sends the card again.
func TestCardReRenderedOnlyWhenWhatItShowsChanges(t *testing.T) {
	api := &plugintest.API{}
	b := &Bot{api: api, userID: "botid", slow: newGate(4)}
	api.On("GetUser", "ann").Return(&model.User{Id: "ann", Username: "ann"}, nil)
	var updates int
	api.On("UpdatePost", mock.Anything).Return(func(p *model.Post) (*model.Post, *model.AppError) { updates++; return p, nil })
	api.On("CreatePost", mock.Anything).Return(func(p *model.Post) (*model.Post, *model.AppError) {
		c := p.Clone()
		c.Id = "card1"
		return c, nil
	})
	at := time.Date(2026, 12, 7, 9, 30, 5, 0, time.UTC)
	inc := &incident.Incident{ID: "abc123", Title: "Checkout down", Severity: incident.S2, ChannelID: "ch1", TeamID: "team"}
	inc.Start(at, "ann")
	ctx := context.Background()
	id, shown, err := b.PostCard(ctx, inc)
	if err != nil || id != "card1" || shown == "" {
		t.Fatalf("post card: %q %q %v", id, shown, err)
	}
	inc.CardPostID = id
	render := func(what string, want int) {
		t.Helper()
		if shown, err = b.UpdateCard(ctx, inc, shown); err != nil {
			t.Fatal(err)
		}
		if updates != want {
			t.Errorf("%s: %d card updates sent, want %d", what, updates, want)
		}
	}
	render("nothing changed", 0)
	inc.LastUpdateAt = at.Add(10 * time.Second)
	render("a first status update", 1)
	for i := range 5 {
		inc.LastUpdateAt = at.Add(time.Duration(20+i) * time.Second)
		render("an update within the same minute", 1)
	}
	inc.LastUpdateAt = at.Add(time.Minute)
	render("an update in the next minute", 2)
	inc.Severity = incident.S1
	render("a new severity", 3)
}

// A retried start gets the card an earlier attempt posted, which shows
// the incident as it was then: its fingerprint is that post's, so the
// card is brought up to date.
func TestCardFoundFromAnEarlierAttemptIsBroughtUpToDate(t *testing.T) {
	api := &plugintest.API{}
	b := &Bot{api: api, userID: "botid", slow: newGate(4)}
	api.On("GetUser", "ann").Return(&model.User{Id: "ann", Username: "ann"}, nil)
	at := time.Date(2026, 12, 7, 9, 30, 5, 0, time.UTC)
	inc := &incident.Incident{ID: "abc123", Title: "Checkout down", Severity: incident.S2, ChannelID: "ch1", TeamID: "team"}
	inc.Start(at, "ann")
	earlier := b.cardPost(inc) // what the earlier attempt posted
	earlier.Id = "card1"
	api.On("CreatePost", mock.Anything).Return(earlier, nil)
	var updates int
	api.On("UpdatePost", mock.Anything).Return(func(p *model.Post) (*model.Post, *model.AppError) { updates++; return p, nil })

	inc.Severity = incident.S1 // changed since the earlier attempt
	id, shown, err := b.PostCard(context.Background(), inc)
	if err != nil || id != "card1" {
		t.Fatalf("post card: %q %v", id, err)
	}
	inc.CardPostID = id
	if _, err := b.UpdateCard(context.Background(), inc, shown); err != nil || updates != 1 {
		t.Errorf("the card an earlier attempt posted was updated %d times (%v), want once", updates, err)
	}
}
