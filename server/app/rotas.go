package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/routing"
)

// Several rotas. Each rota is a document of its own; the directory
// (rotas/v1) names them, in the order they were made, with the teams
// whose incidents each staffs by default. Until a second rota is made
// there is no directory: the first rota is the one document every earlier
// version kept (rota/v1), so an upgrade moves nothing, and its members,
// overrides, swaps, away periods, handoff state and calendar tokens stay
// where they were.
const rotasDoc = "rotas/v1"

// FirstRotaName names the first rota (see incident.FirstRota).
const FirstRotaName = incident.FirstRota

// rotaEntry is one rota of the directory.
type rotaEntry struct {
	Name string `json:"name"`
	Doc  string `json:"doc"`
	// Teams are the teams whose incidents the rota staffs when no rota is
	// named and no routing rule matches.
	Teams []string `json:"teams,omitempty"`
	// Admins edit this rota (besides system admins and the settings'
	// rota admins, who edit every rota).
	Admins []string `json:"admins,omitempty"`
}

type rotaDirectory struct {
	Rotas []rotaEntry `json:"rotas"`
}

// rotaDirectory returns the directory, the first rota alone when none
// was made.
func (a *App) rotaDirectory(ctx context.Context) (*rotaDirectory, error) {
	d, ok, err := loadDoc[rotaDirectory](ctx, a.store, rotasDoc)
	if err != nil {
		return nil, err
	}
	if !ok || len(d.Rotas) == 0 {
		d = &rotaDirectory{Rotas: []rotaEntry{{Name: FirstRotaName, Doc: rotaDoc}}}
	}
	return d, nil
}

// rotaEntry returns the rota named name ("": the first), or a not-found
// error naming the rotas there are.
func (a *App) rotaEntry(ctx context.Context, name string) (rotaEntry, error) {
	d, err := a.rotaDirectory(ctx)
	if err != nil {
		return rotaEntry{}, err
	}
	if name == "" {
		return d.Rotas[0], nil
	}
	name = strings.ToLower(strings.TrimSpace(name))
	for _, e := range d.Rotas {
		if e.Name == name {
			return e, nil
		}
	}
	return rotaEntry{}, incident.NotFoundf("there is no rota %q; the rotas are: %s", name, strings.Join(d.names(), ", "))
}

func (d *rotaDirectory) names() []string {
	out := make([]string, len(d.Rotas))
	for i, e := range d.Rotas {
		out[i] = e.Name
	}
	return out
}

// RotaInfo is one rota as /incident rota list shows it.
type RotaInfo struct {
	Name   string
	Teams  []string
	Admins []string
	First  bool
}

// Rotas lists the rotas, the first first.
func (a *App) Rotas(ctx context.Context) ([]RotaInfo, error) {
	d, err := a.rotaDirectory(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RotaInfo, len(d.Rotas))
	for i, e := range d.Rotas {
		out[i] = RotaInfo{Name: e.Name, Teams: e.Teams, Admins: e.Admins, First: i == 0}
	}
	return out, nil
}

// CreateRota makes an empty rota named name (system and rota admins),
// staffing by default the incidents of teams (ids).
func (a *App) CreateRota(ctx context.Context, actor, name string, teams []string) error {
	if !a.mayEditRota(ctx, actor) {
		return incident.Forbiddenf("only system admins and rota admins may make rotas")
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if !routing.ValidRotaName(name) {
		return incident.Invalidf("a rota's name is 1 to 32 lower-case letters, digits and dashes, such as `payments`")
	}
	_, _, err := updateDoc(ctx, a.store, rotasDoc, func(d *rotaDirectory, _ bool) error {
		if len(d.Rotas) == 0 {
			d.Rotas = []rotaEntry{{Name: FirstRotaName, Doc: rotaDoc}}
		}
		if slices.Contains(d.names(), name) {
			return incident.Conflictf("there is a rota %q already", name)
		}
		for _, e := range d.Rotas {
			for _, t := range teams {
				if slices.Contains(e.Teams, t) {
					return incident.Conflictf("rota %q staffs that team's incidents already; one rota per team", e.Name)
				}
			}
		}
		d.Rotas = append(d.Rotas, rotaEntry{Name: name, Doc: "rota/v2/" + name, Teams: teams})
		return nil
	})
	if err == nil {
		a.log.Info().Str("actor", actor).Str("rota", name).Strs("teams", teams).Msg("rota made")
	}
	return err
}

// rotaForStart is the rota that staffs a new incident: the one named at
// its start (which must exist), else the first routing rule's that
// matches, else its team's, else the first; and why, for the timeline.
func (a *App) rotaForStart(ctx context.Context, req StartRequest, inc *incident.Incident) (string, string, error) {
	if req.Rota != "" {
		e, err := a.rotaEntry(ctx, req.Rota)
		return e.Name, "named at the start", err
	}
	d, err := a.rotaDirectory(ctx)
	if err != nil {
		return "", "", err
	}
	rules := a.settings().RotaRules
	if len(rules) > 0 {
		in := routing.Input{Severity: inc.Severity, Title: inc.Title, Labels: req.Labels}
		if a.names != nil && routing.NeedsNames(rules) {
			if t, ok := a.names.DescribeTeam(ctx, req.TeamID); ok {
				in.Team = t.Name
			}
			if c, ok := a.names.DescribeChannel(ctx, req.ChannelID); ok && req.ChannelID != "" {
				in.Channel = c.Name
			}
		}
		if r, ok := routing.Match(rules, in); ok {
			if slices.Contains(d.names(), r.Rota) {
				return r.Rota, "rule " + r.String(), nil
			}
			a.log.Warn().Str("rule", r.String()).Msg("a rota rule names a rota there is not; the team's rota staffs the incident")
		}
	}
	for _, e := range d.Rotas {
		if slices.Contains(e.Teams, req.TeamID) {
			return e.Name, "the team's rota", nil
		}
	}
	return d.Rotas[0].Name, "", nil
}

// incidentRota returns the rota that staffs inc (the first for incidents
// made before rotas had names).
func (a *App) incidentRota(ctx context.Context, inc *incident.Incident) (*RotaView, error) {
	if inc == nil {
		return a.Rota(ctx)
	}
	v, err := a.RotaOf(ctx, inc.Rota)
	if incident.KindOf(err) == incident.KindNotFound {
		return a.Rota(ctx) // a rota that is gone: the first stands in
	}
	return v, err
}

// ReassignRota has the rota named name staff inc from now on: a timeline
// event, and every role of inc that nobody holds goes to whom that rota
// has on duty, unless they hold another role of it (one person, one
// role). Roles that are held stay with their holders. Open pages move to
// the new rota: their next notifications go to its channel and they
// escalate by its policy (see movePages).
func (a *App) ReassignRota(ctx context.Context, actor string, inc *incident.Incident, name string) (*incident.Incident, error) {
	e, err := a.rotaEntry(ctx, name)
	if err != nil {
		return nil, err
	}
	_, st, err := a.StaffingOf(ctx, e.Name, a.now())
	if err != nil {
		return nil, err
	}
	var joins []string
	out, _, err := a.commit(ctx, inc.ID, func(i *incident.Incident, now time.Time) ([]incident.Event, []incident.Step, error) {
		from := i.Rota
		if from == "" {
			from = FirstRotaName
		}
		if !i.Status.Active() {
			return nil, nil, incident.Conflictf("incident %s is resolved; `/incident reopen` it first", i.ShortRef())
		}
		if from == e.Name {
			return nil, nil, incident.Conflictf("rota %s staffs incident %s already", e.Name, i.ShortRef())
		}
		i.Rota, i.UpdatedAt = e.Name, now.UTC()
		events := []incident.Event{incident.NewEvent(now, actor, incident.EventRotaChanged, "").
			With(incident.DataFrom, from).With(incident.DataTo, e.Name)}
		joins = joins[:0]
		for _, role := range incident.Roles {
			user := st.Holders[role]
			if i.Roles[role] != "" || user == "" {
				continue
			}
			ev, err := i.AssignRole(now, incident.ActorSystem, role, user, "rota", a.combinable())
			if err != nil {
				continue // they hold another role: the role stays open
			}
			events = append(events, ev)
			joins = append(joins, user)
		}
		steps := []incident.Step{{Kind: incident.StepCard}}
		for n := range events {
			steps = append(steps, incident.Step{Kind: incident.StepPublish, Event: n})
		}
		for _, u := range joins {
			steps = append(steps, incident.Step{Kind: incident.StepJoin, User: u})
		}
		return events, steps, nil
	})
	if err != nil {
		return nil, err
	}
	a.log.Info().Str("actor", actor).Str("incident", inc.ID).Str("rota", e.Name).Strs("staffed", joins).Msg("incident's rota changed")
	if err := a.movePages(ctx, out, e.Name); err != nil {
		a.log.Warn().Err(err).Str("incident", inc.ID).Msg("move the incident's open pages to its new rota; they keep their old channel and policy")
	}
	return out, nil
}

// movePages has inc's open pages follow rota name: their next
// notifications go to its channel, and they wait and escalate by its
// policy from now on (the waits already begun are measured against it).
// Posts already made stay where they are, their buttons working.
func (a *App) movePages(ctx context.Context, inc *incident.Incident, name string) error {
	l, _, err := loadDoc[incidentPages](ctx, a.store, incidentPagesDoc(inc.ID))
	if err != nil || l == nil {
		return err
	}
	v, err := a.RotaOf(ctx, name)
	if err != nil {
		return err
	}
	channel, redacted := a.pageChannel(inc, v)
	renotify := a.settings().Renotify
	var errs []error
	for _, id := range l.IDs {
		p, wrote, err := updateDoc(ctx, a.store, pageDoc(id), func(p *Page, exists bool) error {
			if !exists || !p.Pending() || p.Duty != nil {
				return errUnchanged
			}
			p.ChannelID, p.Redacted = channel, redacted
			p.follow(v)
			if p.Sending == nil && !p.Due.IsZero() {
				p.Due = p.nextDue(a.ackTimeout(inc, p), renotify)
			}
			p.Revision++
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("page %s: %w", id, err))
			continue
		}
		if wrote && !p.Due.IsZero() {
			if err := a.work.Schedule(ctx, kindPage, id, p.Due); err != nil {
				errs = append(errs, fmt.Errorf("schedule page %s: %w", id, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mayEditRotaOf reports whether actor may edit rota e: a system admin, a
// rota admin of the settings (every rota), or one of e's own admins.
func (a *App) mayEditRotaOf(ctx context.Context, actor string, e rotaEntry) bool {
	return slices.Contains(e.Admins, actor) || a.mayEditRota(ctx, actor)
}

// SetRotaAdmins names the admins of rota name (system admins, the
// settings' rota admins, and the rota's own admins may).
func (a *App) SetRotaAdmins(ctx context.Context, actor, name string, admins []string) error {
	e, err := a.rotaEntry(ctx, name)
	if err != nil {
		return err
	}
	if !a.mayEditRotaOf(ctx, actor, e) {
		return incident.Forbiddenf("only system admins and the admins of rota %s may name its admins", e.Name)
	}
	_, _, err = updateDoc(ctx, a.store, rotasDoc, func(d *rotaDirectory, _ bool) error {
		if len(d.Rotas) == 0 {
			d.Rotas = []rotaEntry{{Name: FirstRotaName, Doc: rotaDoc}}
		}
		for i := range d.Rotas {
			if d.Rotas[i].Name == e.Name {
				d.Rotas[i].Admins = admins
				return nil
			}
		}
		return incident.NotFoundf("rota %s is gone", e.Name)
	})
	if err == nil {
		a.log.Info().Str("actor", actor).Str("rota", e.Name).Strs("admins", admins).Msg("rota admins set")
	}
	return err
}

// TeamRota names the rota made for team's incidents, "" when none is (the
// rota commands then mean the first).
func (a *App) TeamRota(ctx context.Context, team string) string {
	d, err := a.rotaDirectory(ctx)
	if err != nil || team == "" {
		return ""
	}
	for _, e := range d.Rotas {
		if slices.Contains(e.Teams, team) {
			return e.Name
		}
	}
	return ""
}
