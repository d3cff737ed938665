package app

import (
	"context"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// rotaDoc names the one rota document.
const rotaDoc = "rota/v1"

// DefaultHandoff is the handoff of a rota nobody has set one for: Monday
// 09:00 UTC.
const DefaultHandoff = "CRON_TZ=UTC 0 9 * * MON"

// RotaView is the rota with its parsed schedule, for reading.
type RotaView struct {
	Name     string // the rota's name (see rotas.go)
	Rota     *rota.Rota
	Schedule rota.Schedule
	Location *time.Location
	// Note, when an edit sets it, goes into the rota's history: what
	// changed, with <@id> user references.
	Note string
}

// Rota returns the first rota (an empty one with the default handoff if
// none was configured) and its schedule.
func (a *App) Rota(ctx context.Context) (*RotaView, error) {
	return a.RotaOf(ctx, "")
}

// RotaOf returns the rota named name ("": the first) and its schedule.
func (a *App) RotaOf(ctx context.Context, name string) (*RotaView, error) {
	e, err := a.rotaEntry(ctx, name)
	if err != nil {
		return nil, err
	}
	r, _, err := loadDoc[rota.Rota](ctx, a.store, e.Doc)
	if err != nil {
		return nil, err
	}
	v, err := a.view(r)
	if v != nil {
		v.Name = e.Name
	}
	return v, err
}

func (a *App) view(r *rota.Rota) (*RotaView, error) {
	spec := r.Handoff
	if spec == "" {
		spec = DefaultHandoff
	}
	s, loc, err := a.parse(spec)
	if err != nil {
		return nil, err
	}
	if r.Handoff == "" {
		// A rota without a handoff starts its weeks at the last default handoff.
		if _, err := r.SetHandoff(DefaultHandoff, nil, s, a.now()); err != nil {
			return nil, err
		}
	}
	return &RotaView{Rota: r, Schedule: s, Location: loc}, nil
}

// RotaEdit changes the rota; it gets the rota's current schedule and the
// time of the edit, and may return warnings to show the editor.
type RotaEdit func(v *RotaView, now time.Time) (warnings []string, err error)

// EditRota applies edit with compare-and-set, after checking that actor may
// edit the rota (a system admin or a configured rota admin). It returns the
// stored rota, the edit's own warnings, and the substitutions the new rota
// would need this week and next: one person on duty for two roles is
// accepted, but the editor is told what will happen.
func (a *App) EditRota(ctx context.Context, actor string, edit RotaEdit) (*RotaView, []string, []rota.Substitution, error) {
	return a.EditRotaOf(ctx, actor, "", edit)
}

// EditRotaOf is EditRota on the rota named name ("": the first).
func (a *App) EditRotaOf(ctx context.Context, actor, name string, edit RotaEdit) (*RotaView, []string, []rota.Substitution, error) {
	e, err := a.rotaEntry(ctx, name)
	if err != nil {
		return nil, nil, nil, err
	}
	if !a.mayEditRotaOf(ctx, actor, e) {
		return nil, nil, nil, incident.Forbiddenf("only system admins and rota admins may edit rota %s; ask one of them, or see `/incident rota` for who is on duty", e.Name)
	}
	return a.editRota(ctx, actor, e, edit)
}

// editRota applies edit to rota e with compare-and-set, whoever actor is:
// the caller has checked that they may. What the edit notes (v.Note) goes
// into the rota's history. An edit that returns errUnchanged writes
// nothing, and editRota returns it.
func (a *App) editRota(ctx context.Context, actor string, e rotaEntry, edit RotaEdit) (*RotaView, []string, []rota.Substitution, error) {
	now := a.now()
	var warnings []string
	var view *RotaView
	_, _, err := updateDoc(ctx, a.store, e.Doc, func(r *rota.Rota, _ bool) error {
		v, err := a.view(r)
		if err != nil {
			return err
		}
		w, err := edit(v, now)
		if err != nil {
			return err
		}
		if v.Note != "" {
			r.Record(now, actor, v.Note)
		}
		r.Prune(v.Schedule, now.AddDate(0, 0, -60))
		r.PruneRequests(now)
		r.Revision++
		warnings, view = w, v
		view.Name = e.Name
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if view == nil {
		return nil, nil, nil, errUnchanged // the edit said so
	}
	conflicts := a.upcomingConflicts(view, now)
	a.log.Info().Str("actor", actor).Str("rota", e.Name).Int64("revision", view.Rota.Revision).Msg("rota edited")
	a.boardChanged()
	// The handoff instant may have moved: its worker looks again now.
	if err := a.work.Schedule(ctx, kindHandoff, handoffWorkKey(e), now); err != nil {
		a.log.Warn().Err(err).Msg("schedule the rota handoff after an edit; the next activation does")
	}
	return view, warnings, conflicts, nil
}

// upcomingConflicts lists the substitutions the rota needs in the current
// week and the next.
func (a *App) upcomingConflicts(v *RotaView, now time.Time) []rota.Substitution {
	p := a.settings().Policy
	_, start, end := rota.WeekOf(v.Schedule, v.Rota.Anchor, now)
	out := v.Rota.Conflicts(v.Schedule, start, p)
	if !end.IsZero() {
		out = append(out, v.Rota.Conflicts(v.Schedule, end, p)...)
	}
	return out
}

func (a *App) mayEditRota(ctx context.Context, actor string) bool {
	for _, id := range a.settings().RotaAdmins {
		if id == actor {
			return true
		}
	}
	return a.dir.IsSystemAdmin(ctx, actor)
}

// Staffing computes who holds each role of the first rota at t under the
// current policy.
func (a *App) Staffing(ctx context.Context, t time.Time) (*RotaView, rota.Staffing, error) {
	return a.StaffingOf(ctx, "", t)
}

// StaffingOf is Staffing for the rota named name ("": the first).
func (a *App) StaffingOf(ctx context.Context, name string, t time.Time) (*RotaView, rota.Staffing, error) {
	v, err := a.RotaOf(ctx, name)
	if err != nil {
		return nil, rota.Staffing{}, err
	}
	return v, v.Rota.Assign(v.Schedule, t, a.settings().Policy), nil
}

// ParseHandoff checks a handoff spec and returns its schedule and zone.
func (a *App) ParseHandoff(spec string) (rota.Schedule, *time.Location, error) {
	return a.parse(spec)
}

// EscalationFloor is the shortest wait a rota's escalation policy may set
// (the settings' own minimum).
func (a *App) EscalationFloor() time.Duration {
	if f := a.settings().MinEscalation; f > 0 {
		return f
	}
	return 30 * time.Second
}
