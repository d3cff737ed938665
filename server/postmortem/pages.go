package postmortem

import (
	"strconv"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// page is the story of one page, from its paging events.
type page struct {
	id            string
	pagedAt       time.Time
	first         string        // the first person notified
	role          incident.Role // the role it was sent for, if any
	level         int           // the highest escalation level reached
	notifications int           // first notification, re-notifications and escalations
	ackBy         string
	ackAt         time.Time
	closedAt      time.Time
}

// pages groups the paging events by incident.DataPage, in the order the
// pages were first seen.
func pages(evs []incident.Event) []*page {
	var out []*page
	byID := map[string]*page{}
	get := func(e incident.Event) *page {
		id := e.Data[incident.DataPage]
		p := byID[id]
		if p == nil {
			p = &page{id: id}
			byID[id] = p
			out = append(out, p)
		}
		return p
	}
	for _, e := range evs {
		switch e.Type {
		case incident.EventPaged, incident.EventPageRenotified, incident.EventPageEscalated:
			p := get(e)
			p.notifications++
			if p.pagedAt.IsZero() {
				p.pagedAt, p.first = e.At, e.Data[incident.DataTarget]
			}
			if p.role == "" {
				p.role = incident.Role(e.Data[incident.DataRole])
			}
			if lv, err := strconv.Atoi(e.Data[incident.DataLevel]); err == nil && lv > p.level {
				p.level = lv
			}
		case incident.EventPageAcknowledged:
			if p := get(e); p.ackAt.IsZero() {
				p.ackAt, p.ackBy = e.At, e.Actor
			}
		case incident.EventPageClosed:
			if p := get(e); p.closedAt.IsZero() {
				p.closedAt = e.At
			}
		}
	}
	return out
}
