package web

import (
	"net/http"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// RotaWeeks is how many weeks the rota page shows before and after the
// current one.
const RotaWeeks = 12

type rotaCell struct {
	Role incident.Role
	// Duty is who the rota has on duty (after overrides, swaps and away
	// covers), Source how they got there, For whom they stand in for.
	Duty, Source, For string
	// Holder is who an incident started at the week's start would get,
	// Substituted when that differs from Duty, Why the reason.
	Holder      string
	Substituted bool
	Why         string
	Open        bool
}

type rotaRow struct {
	Index      int
	Start, End time.Time
	Current    bool
	Past       bool
	Cells      []rotaCell
}

type awayRow struct {
	User     string
	From, To time.Time
}

type rotaPage struct {
	page
	Roles []incident.Role
	Weeks []rotaRow
	Away  []awayRow
}

// ServeRota serves GET /rota.
func (p *Pages) ServeRota(w http.ResponseWriter, r *http.Request, actor string) {
	ctx := r.Context()
	v, weeks, current, err := p.App.RotaWeeks(ctx, RotaWeeks, RotaWeeks)
	if err != nil {
		p.fail(w, ctx, err, "rota", actor)
		return
	}
	nm := p.names()
	data := &rotaPage{page: page{Title: "Rota", Root: "./", Nav: "rota", Now: p.App.Now()}, Roles: incident.Roles}
	for i, wk := range weeks {
		row := rotaRow{Index: wk.Index, Start: wk.Start, End: wk.End, Current: i == current, Past: i < current}
		subs := map[incident.Role]rota.Substitution{}
		for _, s := range wk.Staffing.Substitutions {
			subs[s.Role] = s
		}
		for _, role := range incident.Roles {
			d := wk.Staffing.Duties[role]
			c := rotaCell{Role: role, Duty: nm.get(d.UserID), Source: string(d.Source), For: nm.get(d.For)}
			if h := wk.Staffing.Holders[role]; h != "" {
				c.Holder = nm.get(h)
			} else {
				c.Open = true
			}
			if s, ok := subs[role]; ok {
				c.Substituted, c.Why = true, nm.text(s.String())
			}
			row.Cells = append(row.Cells, c)
		}
		data.Weeks = append(data.Weeks, row)
	}
	for _, a := range v.Rota.Away {
		data.Away = append(data.Away, awayRow{User: nm.get(a.UserID), From: a.From, To: a.To})
	}
	p.render(w, "rota", data)
}
