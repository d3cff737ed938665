package app

import "github.com/incidentbot/mattermost-incident-bot/server/incident"

// shared is inc as channels shared beyond its own (broadcast, postmortems,
// rota) may see it, and whether they may see it at all.
func (a *App) shared(inc *incident.Incident) (*incident.Incident, bool) {
	d := a.settings().PrivateDisclosure
	if d == "" {
		d = incident.DiscloseRedacted
	}
	view := inc.SharedView(d)
	return view, view.Shared != incident.DiscloseNone
}

// broadcastFor is the broadcast channel for inc: "" when it may not be
// told of it.
func (a *App) broadcastFor(inc *incident.Incident) (*incident.Incident, string) {
	view, ok := a.shared(inc)
	if !ok {
		return view, ""
	}
	return view, a.settings().BroadcastChannelID
}
