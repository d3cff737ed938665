package web

import (
	"net/http"
	"sort"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// cell is one severity's figure in one month.
type cell struct {
	N        int
	P50, P90 time.Duration
}

type monthRow struct {
	Month string
	Cells map[incident.Severity]*cell
}

type plot struct {
	ID, Key, Title string
	Months         []monthRow
	Points         []point
	Ticks          []tick
	YTicks         []ytick
	W, H           float64
}

type point struct {
	X, Y50, Y90 float64
	Sev         string
	Month       string
	P50, P90    string
	N           int
}

type ytick struct {
	Y     float64
	Label string
}

type weekBar struct {
	Week    string
	N       int
	X, Y, H float64
	// Label names the week under its bar, on every few bars.
	Label  string
	LabelX float64
}

type loadRow struct {
	User          string
	Pages, Stints int
}

type overdueRow struct {
	Incident, Href, Text, Owner string
	Due                         time.Time
}

type statsPage struct {
	page
	Since      string
	Periods    []string
	Incidents  int
	Severities []incident.Severity
	Plots      []*plot
	Weeks      []weekBar
	WeekMax    int
	Load       []loadRow
	Overdue    []overdueRow
	// Pending are the months whose figures are still being computed.
	Pending []string
}

// ServeStats serves GET /stats.
func (p *Pages) ServeStats(w http.ResponseWriter, r *http.Request, actor string) {
	ctx := r.Context()
	now := p.App.Now()
	since, sinceText, err := parseSince(r.URL.Query().Get("since"), now, "183d")
	if err != nil {
		p.fail(w, ctx, err, "stats", actor)
		return
	}
	st, err := p.App.Stats(ctx, actor, since)
	if err != nil {
		p.fail(w, ctx, err, "stats", actor)
		return
	}
	nm := p.names()
	data := &statsPage{page: page{Title: "Stats", Root: "./", Nav: "stats", Now: now}, Since: sinceText, Periods: periods,
		Incidents: st.Incidents, Severities: []incident.Severity{incident.S1, incident.S2, incident.S3, incident.S4}, Pending: st.Pending}

	weeks := map[time.Time]int{}
	first := now
	ms := make([]string, 0, len(st.Months))
	for m, f := range st.Months {
		ms = append(ms, m)
		for w, n := range f.Weeks {
			wk, err := time.Parse("2006-01-02", w)
			if err != nil {
				continue
			}
			weeks[wk] += n
			if wk.Before(first) {
				first = wk
			}
		}
	}
	sort.Strings(ms)
	for i, def := range []struct{ id, key, title string }{
		{"stats-tta", "tta", "Time to acknowledge"}, {"stats-ttm", "ttm", "Time to mitigate"}, {"stats-ttr", "ttr", "Time to resolve"},
	} {
		pl := &plot{ID: def.id, Key: def.key, Title: def.title, W: chartW, H: 220}
		var top time.Duration
		for _, m := range ms {
			row := monthRow{Month: m, Cells: map[incident.Severity]*cell{}}
			for _, sev := range data.Severities {
				p90, n := st.Months[m].Quantile(i, sev, 0.9)
				if n == 0 {
					continue
				}
				p50, _ := st.Months[m].Quantile(i, sev, 0.5)
				c := &cell{N: n, P50: p50, P90: p90}
				row.Cells[sev] = c
				top = max(top, c.P90)
			}
			pl.Months = append(pl.Months, row)
		}
		plotPoints(pl, top, data.Severities)
		data.Plots = append(data.Plots, pl)
	}

	// Incidents per week, from the first week of the period (or of the
	// first incident) to this one.
	from := weekStart(first)
	if !since.IsZero() {
		from = weekStart(since)
	}
	var bars []weekBar
	for wk := from; !wk.After(now); wk = wk.AddDate(0, 0, 7) {
		bars = append(bars, weekBar{Week: wk.Format("2006-01-02"), N: weeks[wk]})
		data.WeekMax = max(data.WeekMax, weeks[wk])
		if len(bars) > 520 {
			break
		}
	}
	if len(bars) > 0 {
		bw := (chartW - chartLeft - chartRight) / float64(len(bars))
		for i := range bars {
			h := 0.0
			if data.WeekMax > 0 {
				h = float64(bars[i].N) / float64(data.WeekMax) * 120
			}
			bars[i].X, bars[i].H, bars[i].Y = chartLeft+float64(i)*bw, h, 130-h
		}
		// At most about eight labels, the latest week always named.
		every := (len(bars) + 7) / 8
		for i := len(bars) - 1; i >= 0; i -= every {
			wk, _ := time.Parse("2006-01-02", bars[i].Week)
			bars[i].Label, bars[i].LabelX = wk.Format("Jan 2"), bars[i].X+bw/2
		}
	}
	data.Weeks = bars

	users := map[string]*loadRow{}
	for u, n := range st.PagesPerPerson {
		if users[u] == nil {
			users[u] = &loadRow{User: nm.get(u)}
		}
		users[u].Pages += n
	}
	for u, n := range st.StintsPerPerson {
		if users[u] == nil {
			users[u] = &loadRow{User: nm.get(u)}
		}
		users[u].Stints += n
	}
	for _, l := range users {
		data.Load = append(data.Load, *l)
	}
	sort.Slice(data.Load, func(i, j int) bool {
		a, b := data.Load[i], data.Load[j]
		if a.Pages+a.Stints != b.Pages+b.Stints {
			return a.Pages+a.Stints > b.Pages+b.Stints
		}
		return a.User < b.User
	})
	for _, o := range st.OverdueActions {
		data.Overdue = append(data.Overdue, overdueRow{Incident: o.Incident, Href: "incidents/" + o.Incident,
			Text: nm.text(o.Item.Text), Owner: nm.get(o.Item.Owner), Due: o.Item.Due})
	}
	sort.Slice(data.Overdue, func(i, j int) bool { return data.Overdue[i].Due.Before(data.Overdue[j].Due) })
	p.render(w, "stats", data)
}

// weekStart is the Monday 00:00 UTC of t's week.
func weekStart(t time.Time) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// plotPoints places each month's p50 (dot) and p90 (bar top) per severity.
func plotPoints(pl *plot, top time.Duration, sevs []incident.Severity) {
	const plotTop, plotBottom = 10.0, 190.0
	if top <= 0 || len(pl.Months) == 0 {
		return
	}
	// Ticks on a round step, so that no two read the same ("2s, 2s,
	// 1s"): the axis goes up to the step's first multiple at or above
	// top.
	step := niceStep(top)
	top = (top + step - 1) / step * step
	y := func(d time.Duration) float64 {
		return plotBottom - float64(d)/float64(top)*(plotBottom-plotTop)
	}
	for d := time.Duration(0); d <= top; d += step {
		pl.YTicks = append(pl.YTicks, ytick{Y: y(d), Label: durText(d)})
	}
	slot := (chartW - chartLeft - chartRight) / float64(len(pl.Months))
	for i, row := range pl.Months {
		x0 := chartLeft + float64(i)*slot
		pl.Ticks = append(pl.Ticks, tick{X: x0 + slot/2, Label: row.Month})
		for j, sev := range sevs {
			c := row.Cells[sev]
			if c == nil {
				continue
			}
			x := x0 + slot*(float64(j)+1)/float64(len(sevs)+1)
			pl.Points = append(pl.Points, point{X: x, Y50: y(c.P50), Y90: y(c.P90), Sev: sev.String(), Month: row.Month,
				P50: durText(c.P50), P90: durText(c.P90), N: c.N})
		}
	}
}

// niceStep is the smallest round duration that divides top into at most
// four steps.
func niceStep(top time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour} {
		if top <= 4*s {
			return s
		}
	}
	return (top + 3) / 4
}
