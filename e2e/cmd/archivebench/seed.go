package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
	kvseed "github.com/incidentbot/mattermost-incident-bot/e2e/seed"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/store/kvstore"
)

// channel is an incident channel the bench made.
type channel struct{ id, name string }

// makeChannels creates n public channels in s's team, named by names (one
// per line) or, when names is empty, bench-0000, bench-0001, ...
func makeChannels(ctx context.Context, s *harness.Server, n int, names string) ([]channel, error) {
	list := strings.Split(names, "\n")
	if names == "" {
		list = make([]string, n)
		for i := range list {
			list[i] = fmt.Sprintf("bench-%04d", i)
		}
	}
	out := make([]channel, len(list))
	errs := make(chan error, len(list))
	work := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range work {
				ch, _, err := s.Admin.Client.CreateChannel(ctx, &model.Channel{TeamId: s.Team.Id, Name: list[i], DisplayName: list[i], Type: model.ChannelTypeOpen})
				if err != nil {
					errs <- fmt.Errorf("create channel %s: %w", list[i], err)
					continue
				}
				out[i] = channel{id: ch.Id, name: ch.Name}
			}
		})
	}
	for i := range list {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	return out, <-errs
}

// seed writes one incident per channel, each with events timeline
// events and an action item, into s's plugin KV table: the plugin's KV
// store code encodes them into an in-memory KV, whose keys are then
// inserted as they are.
func seed(ctx context.Context, s *harness.Server, channels []channel, events int) error {
	mem := &pluginapi.MemoryStore{}
	st := kvstore.New(mem)
	people := []string{s.Admin.Id, s.Users[0].Id, s.Users[1].Id}
	at := model.GetTimeForMillis(model.GetMillis()).AddDate(-1, 0, 0).UTC()
	for i, ch := range channels {
		inc := &incident.Incident{ID: fmt.Sprintf("b%04d", i), Title: fmt.Sprintf("Checkout errors in region %d", i%7), Severity: incident.Severity(1 + i%4),
			TeamID: s.Team.Id, ChannelID: ch.id,
			Roles: map[incident.Role]string{incident.RoleIM: people[i%3], incident.RoleL1: people[(i+1)%3], incident.RoleL2: people[(i+2)%3]}}
		start := at.Add(time.Duration(i) * 6 * time.Hour)
		tl := []incident.Event{inc.Start(start, people[i%3])}
		for j := 1; j < events; j++ {
			tl = append(tl, incident.NewEvent(start.Add(time.Duration(j)*time.Minute), people[j%3], incident.EventStatusUpdate,
				fmt.Sprintf("Update %d: rolled back the payment client on the EU cluster, error rate falling; <@%s> watches the dashboards", j, people[(j+1)%3])))
		}
		if i%10 != 9 { // one in ten is still open
			ev, err := inc.Resolve(start.Add(time.Duration(events)*time.Minute), people[i%3], "Rolled back")
			if err != nil {
				return err
			}
			tl = append(tl[:events-1], ev)
		}
		for j := range tl {
			tl[j].Seq = j
		}
		if err := st.ImportIncident(ctx, inc, tl); err != nil {
			return err
		}
		doc := fmt.Sprintf(`{"items":[{"n":1,"text":"Alert on the error rate","owner":%q,"due":"2030-01-31T00:00:00Z"}]}`, people[(i+1)%3])
		if ok, err := st.CompareAndSetDoc(ctx, "actions/v1/"+inc.ID, nil, []byte(doc)); err != nil || !ok {
			return fmt.Errorf("seed the action items of #%s: %v", inc.ID, err)
		}
	}
	return kvseed.Upsert(ctx, s, pluginID, mem, nil, "")
}
