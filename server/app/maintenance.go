package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/routing"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Maintenance windows: planned work during which the alerts that match
// (those a rota would be paged for, or those with a label) open no
// incident and page nobody. They are recorded (see alert_gate.go), and
// when the window ends, those still firing open their incident then.

// maintenanceDoc lists the windows.
const maintenanceDoc = "maintenance/v1"

// kindMaintenance is the work kind of a window's end.
const kindMaintenance = "maintenance"

// Bounds.
const (
	MaxWindows      = 100
	MaxWindowLength = 7 * 24 * time.Hour
	maxWindowHeld   = 1000 // alerts a window remembers to open at its end
	windowKept      = 7 * 24 * time.Hour
)

// Window is one maintenance window.
type Window struct {
	ID string `json:"id"`
	// Rota: the alerts that rota would be paged for; else Match: the
	// alerts that match the condition.
	Rota   string        `json:"rota,omitempty"`
	Match  *routing.Rule `json:"match,omitempty"`
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to"`
	Reason string        `json:"reason,omitempty"`
	By     string        `json:"by"`
	// Ended is set when the window's end was dealt with (at To, or early).
	Ended bool `json:"ended,omitempty"`
	// Held are the held alerts' documents to release at the end; HeldCount
	// counts every alert held (also beyond the list's bound).
	Held      []string `json:"held,omitempty"`
	HeldCount int      `json:"held_count,omitempty"`
}

// Matcher renders what the window covers.
func (w *Window) Matcher() string {
	if w.Rota != "" {
		return "rota " + w.Rota
	}
	if w.Match != nil {
		return w.Match.Condition()
	}
	return "nothing"
}

// Active reports whether the window covers now.
func (w *Window) Active(now time.Time) bool {
	return !w.Ended && !now.Before(w.From) && now.Before(w.To)
}

type windows struct {
	Windows []Window `json:"windows"`
}

// AddMaintenance adds a window (system and rota admins): matcher is
// `rota=<name>` (or a rota's name) or a condition as in the rota rules
// (`alertname=DiskFull`, `label:service=web`, `S3`).
func (a *App) AddMaintenance(ctx context.Context, actor, matcher string, from, to time.Time, reason string) (*Window, error) {
	if !a.mayEditRota(ctx, actor) {
		return nil, incident.Forbiddenf("only system admins and rota admins plan maintenance windows")
	}
	now := a.now()
	w := Window{ID: a.newID(), From: from.UTC(), To: to.UTC(), Reason: strings.TrimSpace(reason), By: actor}
	m := strings.TrimSpace(matcher)
	if name, ok := strings.CutPrefix(strings.ToLower(m), "rota="); ok || !strings.ContainsAny(m, "=:") && routing.ValidRotaName(strings.ToLower(m)) && !looksLikeSeverity(m) {
		if !ok {
			name = strings.ToLower(m)
		}
		e, err := a.rotaEntry(ctx, name)
		if err != nil {
			return nil, err
		}
		w.Rota = e.Name
	} else {
		r, err := routing.ParseCondition(m)
		if err != nil {
			return nil, incident.Invalidf("the window covers rota=<name> or an alert condition such as alertname=DiskFull or label:service=web: %s", incident.UserMessage(err))
		}
		w.Match = &r
	}
	switch {
	case !w.From.Before(w.To):
		return nil, incident.Invalidf("the window ends before it starts; give the start first")
	case !w.To.After(now):
		return nil, incident.Invalidf("that window is over already")
	case w.To.Sub(w.From) > MaxWindowLength:
		return nil, incident.Invalidf("a window is at most 7 days")
	}
	if len(w.Reason) > 500 {
		return nil, incident.Invalidf("keep the reason under 500 characters")
	}
	if err := a.work.Schedule(ctx, kindMaintenance, w.ID, w.To); err != nil {
		return nil, fmt.Errorf("plan maintenance: schedule its end: %w", err)
	}
	if _, _, err := updateDoc(ctx, a.store, maintenanceDoc, func(d *windows, _ bool) error {
		d.Windows = slices.DeleteFunc(d.Windows, func(o Window) bool { return o.Ended && now.Sub(o.To) > windowKept })
		if len(d.Windows) >= MaxWindows {
			return incident.Invalidf("there are %d maintenance windows; end some first", MaxWindows)
		}
		d.Windows = append(d.Windows, w)
		return nil
	}); err != nil {
		return nil, err
	}
	a.log.Info().Str("actor", actor).Str("window", w.ID).Str("covers", w.Matcher()).Time("from", w.From).Time("to", w.To).Msg("maintenance window planned")
	return &w, nil
}

func looksLikeSeverity(s string) bool {
	_, err := incident.ParseSeverity(s)
	return err == nil
}

// Maintenance lists the windows, the latest ending last.
func (a *App) Maintenance(ctx context.Context) ([]Window, error) {
	d, _, err := loadDoc[windows](ctx, a.store, maintenanceDoc)
	if err != nil {
		return nil, err
	}
	return d.Windows, nil
}

// EndMaintenance ends window id now (admins): its held alerts still
// firing open their incidents.
func (a *App) EndMaintenance(ctx context.Context, actor, id string) error {
	if !a.mayEditRota(ctx, actor) {
		return incident.Forbiddenf("only system admins and rota admins end maintenance windows")
	}
	now := a.now()
	found := false
	if _, _, err := updateDoc(ctx, a.store, maintenanceDoc, func(d *windows, _ bool) error {
		for i := range d.Windows {
			if d.Windows[i].ID == id && !d.Windows[i].Ended {
				found = true
				if d.Windows[i].To.After(now) {
					d.Windows[i].To = now
				}
				return nil
			}
		}
		return errUnchanged
	}); err != nil {
		return err
	}
	if !found {
		return incident.NotFoundf("there is no open maintenance window %q: `/incident maintenance list` shows them", id)
	}
	if err := a.work.Schedule(ctx, kindMaintenance, id, now); err != nil {
		return err
	}
	a.work.Wake(kindMaintenance, id)
	return nil
}

// activeWindow returns the window of d that covers al now, if any. The
// rota an alert would be paged for is worked out only when a window names
// one.
func (a *App) activeWindow(ctx context.Context, d *windows, req AlertRequest, al alert.Alert, in routing.Input, now time.Time) (*Window, error) {
	var err error
	rotaOf := ""
	for i := range d.Windows {
		w := &d.Windows[i]
		if !w.Active(now) {
			continue
		}
		if w.Match != nil {
			if _, ok := routing.Match([]routing.Rule{*w.Match}, in); ok {
				return w, nil
			}
			continue
		}
		if rotaOf == "" {
			inc := &incident.Incident{Severity: in.Severity, Title: in.Title}
			if rotaOf, _, err = a.rotaForStart(ctx, StartRequest{TeamID: req.TeamID, Labels: al.Labels, Rota: req.Rota}, inc); err != nil {
				return nil, err
			}
		}
		if w.Rota == rotaOf {
			return w, nil
		}
	}
	return nil, nil
}

// holdInWindow remembers that window id holds the alert of doc.
func (a *App) holdInWindow(ctx context.Context, id, doc string) error {
	_, _, err := updateDoc(ctx, a.store, maintenanceDoc, func(d *windows, _ bool) error {
		for i := range d.Windows {
			w := &d.Windows[i]
			if w.ID != id {
				continue
			}
			if slices.Contains(w.Held, doc) {
				return errUnchanged
			}
			w.HeldCount++
			if len(w.Held) < maxWindowHeld {
				w.Held = append(w.Held, doc)
			}
			return nil
		}
		return errUnchanged
	})
	return err
}

// runMaintenance is the worker of a window's end: the alerts it held that
// are still firing open their incidents now; the others are forgotten.
func (a *App) runMaintenance(ctx context.Context, job work.Job) (work.Outcome, error) {
	d, _, err := loadDoc[windows](ctx, a.store, maintenanceDoc)
	if err != nil {
		return work.Outcome{}, err
	}
	now := a.now()
	i := slices.IndexFunc(d.Windows, func(w Window) bool { return w.ID == job.Key })
	if i < 0 || d.Windows[i].Ended {
		return work.Outcome{}, nil
	}
	w := d.Windows[i]
	if now.Before(w.To) {
		return work.Outcome{Next: w.To}, nil
	}
	opened := 0
	for _, doc := range w.Held {
		ok, err := a.releaseHeld(ctx, doc, w.ID)
		if err != nil {
			return work.Outcome{}, fmt.Errorf("maintenance window %s ended: %w", w.ID, err) // retried; released alerts are gone
		}
		if ok {
			opened++
		}
	}
	if _, _, err := updateDoc(ctx, a.store, maintenanceDoc, func(d *windows, _ bool) error {
		for i := range d.Windows {
			if d.Windows[i].ID == w.ID {
				d.Windows[i].Ended, d.Windows[i].Held = true, nil
				return nil
			}
		}
		return errUnchanged
	}); err != nil {
		return work.Outcome{}, err
	}
	a.log.Info().Str("window", w.ID).Int("held", w.HeldCount).Int("opened", opened).Msg("maintenance window ended")
	return work.Outcome{}, nil
}

// DisplayLocation is the settings' display time zone (UTC when unset).
func (a *App) DisplayLocation() *time.Location {
	if l := a.settings().Location; l != nil {
		return l
	}
	return time.UTC
}
