// Package web serves the plugin's pages: the incident list, an incident
// (facts, role swimlanes, timeline chart, events, action items,
// postmortem), stats, the rota, and for system admins the incident
// archive's export and import. They are rendered on the server with
// html/template and inline SVG: no scripts, fonts or anything fetched from
// elsewhere, so they work air-gapped. Every route but the archive upload
// is GET, and the acting user comes from the Mattermost-User-Id header
// (checked by the caller);
// an incident whose channel the user cannot read appears nowhere, and
// counts that leave such incidents out say so.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// Paths of the pages, relative to the plugin's root (/plugins/<id>).
const (
	IncidentsPath = "/incidents"
	StatsPath     = "/stats"
	RotaPath      = "/rota"
	// ArchivePath downloads the incident archive (system admins).
	ArchivePath = "/archive.incidents"
)

// IncidentPath is the page of incident id, relative to the plugin's root.
func IncidentPath(id string) string { return IncidentsPath + "/" + id }

// PageSize is the number of incidents per page of the list.
const PageSize = 50

//go:embed templates/*.html
var files embed.FS

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"dur":   durText,
	"stamp": stamp,
	"sev":   func(s incident.Severity) string { return s.String() },
	"role":  func(r incident.Role) string { return r.Title() },
	"add":   func(a, b int) int { return a + b },
	"mul":   func(a, b int) int { return a * b },
	"addf":  func(a, b float64) float64 { return a + b },
	"lower": strings.ToLower,
	"list":  func(s ...string) []string { return s },
	"has":   func(l []string, s string) bool { return slices.Contains(l, s) },
	"barw": func(b []weekBar) float64 {
		if len(b) == 0 {
			return 0
		}
		return min(max((chartW-chartLeft-chartRight)/float64(len(b))-1, 1), 40)
	},
}).ParseFS(files, "templates/*.html"))

// md renders the postmortem's Markdown: GitHub tables, no raw HTML (the
// default: goldmark replaces raw HTML with a comment).
var md = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

// Pages renders the pages from the app's use cases.
type Pages struct {
	App *app.App
	// Name shows a user (e.g. "@alice"); called at most once per user per
	// request.
	Name func(userID string) string
	// Archives takes archives uploaded on the archive page; nil: no
	// archive page.
	Archives Archives
	// TeamID finds a team by its name (the list's team filter takes
	// either); nil: ids only.
	TeamID func(name string) (string, bool)
	// MaxUpload bounds an uploaded archive (the server's own file size
	// limit, which the upload into the direct message must pass); nil or
	// 0: the archive reader's limit.
	MaxUpload func() int64
	Log       zerolog.Logger
}

// names caches Name for one request.
type names struct {
	name func(string) string
	mu   sync.Mutex
	m    map[string]string
}

func (p *Pages) names() *names {
	return &names{name: p.Name, m: map[string]string{}}
}

func (n *names) get(id string) string {
	if id == "" {
		return ""
	}
	if id == incident.ActorSystem {
		return incident.BotName
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if s, ok := n.m[id]; ok {
		return s
	}
	s := id
	if n.name != nil {
		s = n.name(id)
	}
	// A name never wraps away from its "@": the zero-width space that
	// keeps chat from notifying is a break opportunity, a word joiner is
	// not (and a page notifies nobody).
	s = strings.ReplaceAll(s, "\u200b", "\u2060")
	n.m[id] = s
	return s
}

// text renders domain text with its <@id> user references as names.
func (n *names) text(s string) string {
	if !strings.Contains(s, "<@") {
		return s
	}
	return rota.RenderUsers(s, n.get)
}

// page is what every page's layout needs.
type page struct {
	Title string
	// Root leads from the page to the plugin's root, relative, so that
	// links work whatever the site URL's path.
	Root string
	Nav  string
	Now  time.Time
	// Form: the page changes something (the archive's import), so the
	// footer does not call it read-only.
	Form bool
}

func (p *Pages) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		p.Log.Error().Err(err).Str("template", name).Msg("render page")
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// headers: nothing is loaded from elsewhere and nothing runs.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (p *Pages) fail(w http.ResponseWriter, ctx context.Context, err error, route, actor string) {
	code := http.StatusInternalServerError
	switch incident.KindOf(err) {
	case incident.KindNotFound:
		code = http.StatusNotFound
	case incident.KindInvalid:
		code = http.StatusBadRequest
	case incident.KindForbidden:
		code = http.StatusForbidden
	}
	if code == http.StatusInternalServerError && !errors.Is(ctx.Err(), context.Canceled) {
		p.Log.Error().Err(err).Str("route", route).Str("user", actor).Msg("page failed")
	}
	headers(w)
	http.Error(w, incident.UserMessage(err), code)
}

func durText(d time.Duration) string { return incident.FormatDuration(d) }

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// stampSeconds is stamp to the second, for events seconds apart.
func stampSeconds(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// parseSince reads a period: "all", "<n>d", "<n>w" or a date
// (2006-01-02). def applies to an empty value.
func parseSince(v string, now time.Time, def string) (time.Time, string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		v = def
	}
	if v == "all" {
		return time.Time{}, v, nil
	}
	if n := len(v); n > 1 && (v[n-1] == 'd' || v[n-1] == 'w') {
		k, err := strconv.Atoi(v[:n-1])
		if err == nil && k > 0 && k <= 3660 {
			if v[n-1] == 'w' {
				k *= 7
			}
			return now.AddDate(0, 0, -k), v, nil
		}
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, v, nil
	}
	return time.Time{}, v, incident.Invalidf("since: give all, a number of days (30d), weeks (12w) or a date (2006-01-02)")
}

// periods offered by the filters.
var periods = []string{"7d", "30d", "90d", "183d", "365d", "all"}

// ---- incident list ----

type listRow struct {
	ID, Title, IM   string
	Severity        incident.Severity
	Status          incident.Status
	Created         time.Time
	TTA, TTM, TTR   string
	Private         bool
	Href            string
	StatusLabel     string
	SeverityLabel   string
	ResolvedAtStamp string
}

type listPage struct {
	page
	Rows                      []listRow
	Status, Severity, Team, Q string
	Since                     string
	Periods                   []string
	// First is the page's first row's number (from 1); Scanned and
	// Oldest say how far a page cut short looked.
	First, Last, Scanned int
	Short                bool
	Oldest               time.Time
	NewestHref, NextHref string
	// Admin shows the link to the incident archive page.
	Admin bool
}

// ServeList serves GET /incidents: a page of PageSize incidents, newest
// first, from the listing index (see app.ListPage); "after" continues
// from where the previous page ended.
func (p *Pages) ServeList(w http.ResponseWriter, r *http.Request, actor string) {
	ctx := r.Context()
	q := r.URL.Query()
	now := p.App.Now()
	since, sinceText, err := parseSince(q.Get("since"), now, "90d")
	if err != nil {
		p.fail(w, ctx, err, "list", actor)
		return
	}
	status := incident.Status(q.Get("status"))
	if status != "" && !status.Valid() {
		p.fail(w, ctx, incident.Invalidf("status: open, mitigated or resolved"), "list", actor)
		return
	}
	var sev incident.Severity
	if s := q.Get("severity"); s != "" {
		if err := sev.UnmarshalText([]byte(s)); err != nil || !sev.Valid() {
			p.fail(w, ctx, incident.Invalidf("severity: S1 to S4"), "list", actor)
			return
		}
	}
	team := strings.TrimSpace(q.Get("team"))
	teamID := team
	if team != "" && !looksLikeID(team) && p.TeamID != nil {
		if id, ok := p.TeamID(strings.ToLower(strings.TrimPrefix(team, "~"))); ok {
			teamID = id
		}
	}
	first := 1
	if v := q.Get("from"); v != "" {
		if first, err = strconv.Atoi(v); err != nil || first < 1 {
			first = 1
		}
	}
	res, err := p.App.ListPage(ctx, actor, app.ListQuery{Since: since, Status: status, Severity: sev, TeamID: teamID,
		Text: strings.TrimSpace(q.Get("q")), Cursor: q.Get("after"), Limit: PageSize})
	if err != nil {
		p.fail(w, ctx, err, "list", actor)
		return
	}
	nm := p.names()
	data := &listPage{page: page{Title: "Incidents", Root: "./", Nav: "incidents", Now: now},
		Status: string(status), Team: team, Q: q.Get("q"), Since: sinceText, Periods: periods,
		First: first, Scanned: res.Scanned, Oldest: res.Oldest, Short: res.Next != "" && len(res.Incidents) < PageSize,
		Admin: p.App.IsSystemAdmin(ctx, actor)}
	if sev != 0 {
		data.Severity = sev.String()
	}
	for _, inc := range res.Incidents {
		row := listRow{ID: inc.ID, Title: inc.Title, IM: nm.get(inc.Roles[incident.RoleIM]), Severity: inc.Severity,
			Status: inc.Status, Created: inc.CreatedAt, Private: inc.Private, Href: "incidents/" + inc.ID,
			StatusLabel: inc.Status.Label(), SeverityLabel: inc.Severity.String()}
		if sum := res.Summaries[inc.ID]; sum != nil {
			if sum.Acknowledged {
				row.TTA = durText(sum.TimeToAck)
			}
			if sum.Mitigated {
				row.TTM = durText(sum.TimeToMitigate)
			}
			if sum.Resolved {
				row.TTR = durText(sum.TimeToResolve)
			}
		}
		data.Rows = append(data.Rows, row)
	}
	data.Last = first + len(data.Rows) - 1
	if q.Get("after") != "" {
		data.NewestHref = "incidents?" + cloneValues(q).Encode()
	}
	if res.Next != "" {
		v := cloneValues(q)
		v.Set("after", res.Next)
		v.Set("from", strconv.Itoa(first+len(res.Incidents)))
		data.NextHref = "incidents?" + v.Encode()
	}
	p.render(w, "list", data)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		if k == "after" || k == "from" || k == "page" {
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}
