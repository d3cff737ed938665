package app

import (
	"context"
	"errors"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// ErrNotIncidentChannel: no incident was named and the channel is not an
// incident's own channel. Edges add the usage of the command at hand.
var ErrNotIncidentChannel = &incident.Error{Kind: incident.KindInvalid,
	Msg: "this channel is not an incident channel: name the incident with #<id> (`/incident list` shows ids)"}

// Locate finds the incident a command or button means and checks that the
// actor may act on it. ref is an explicit id ("#k3x9qd" or "k3x9qd") or
// empty, in which case the incident that owns channelID is meant.
func (a *App) Locate(ctx context.Context, actor, channelID, ref string) (*incident.Incident, error) {
	id := strings.TrimPrefix(strings.TrimSpace(ref), "#")
	if id == "" {
		var err error
		id, err = a.store.IncidentIDForChannel(ctx, channelID)
		if errors.Is(err, incident.ErrNotFound) {
			return nil, ErrNotIncidentChannel
		}
		if err != nil {
			return nil, err
		}
	}
	inc, err := a.store.GetIncident(ctx, id)
	if errors.Is(err, incident.ErrNotFound) {
		return nil, incident.NotFoundf("no incident #%s: `/incident list` shows the open ones", id)
	}
	if err != nil {
		return nil, err
	}
	if !a.access.CanAccessChannel(ctx, actor, inc.ChannelID) {
		// Same message as a missing incident: do not reveal private incidents.
		return nil, incident.NotFoundf("no incident #%s: `/incident list` shows the open ones", id)
	}
	return inc, nil
}

// ListActive returns, of the newest limit open and mitigated incidents,
// those the actor may see, newest first, and how many incidents are active
// in all (those the actor may not see included). It reads limit records
// at the most, whatever the number of active incidents.
func (a *App) ListActive(ctx context.Context, actor string, limit int) ([]*incident.Incident, int, error) {
	newest, total, err := a.store.ListActive(ctx, limit)
	if err != nil {
		return nil, 0, err
	}
	out := newest[:0]
	for _, inc := range newest {
		if a.access.CanAccessChannel(ctx, actor, inc.ChannelID) {
			out = append(out, inc)
		}
	}
	return out, total, nil
}

// TimelineTail returns the incident's last n events in order, reading only
// the end of its timeline.
func (a *App) TimelineTail(ctx context.Context, inc *incident.Incident, n int) ([]incident.Event, error) {
	return a.store.TimelineTail(ctx, inc.ID, n)
}
