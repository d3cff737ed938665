package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/noise"
	"github.com/incidentbot/mattermost-incident-bot/server/routing"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// The alert gate: a firing alert that would open a new incident is held
// back instead while a maintenance window covers it, or until its noise
// threshold is met. A held alert is a document beside its link
// (alerts/v1/<source>/<fingerprint>/held) that keeps what it needs to open
// the incident later and what it has seen (its notifications, whether it
// still fires). A window's end, or the threshold's time, releases it: if
// it is still firing then, it opens its incident through the usual path.
// Alerts whose incident is open already are never held: they attach.

// kindHeld is the work kind that looks at a held alert when its threshold
// may be met.
const kindHeld = "alertheld"

// errHeld says the alert was held back (counted, not an error).
var errHeld = errors.New("held")

// heldAlert is a held-back alert.
type heldAlert struct {
	Source   alert.Source      `json:"source"`
	TeamID   string            `json:"team_id"`
	ActorID  string            `json:"actor_id"`
	Severity incident.Severity `json:"severity,omitempty"`
	Rota     string            `json:"rota,omitempty"`
	// Payload is the notification with this alert only, as last seen.
	Payload alert.Payload `json:"payload"`
	First   time.Time     `json:"first"`
	Seen    []time.Time   `json:"seen"`
	Firing  bool          `json:"firing"`
	// Window is the maintenance window holding it; Threshold the rule
	// holding it when no window does.
	Window    string `json:"window,omitempty"`
	Threshold string `json:"threshold,omitempty"`
}

func heldDoc(src alert.Source, fingerprint string) string {
	return alertDocName(src, fingerprint) + "/held"
}

// gate holds al back when a window covers it or its threshold is not met
// (errHeld), or lets it open its incident (nil).
func (a *App) gate(ctx context.Context, req AlertRequest, set AlertSettings, al alert.Alert) error {
	if req.ungated {
		return nil
	}
	ws, _, err := loadDoc[windows](ctx, a.store, maintenanceDoc)
	if err != nil {
		return err
	}
	if len(set.Thresholds) == 0 && len(ws.Windows) == 0 {
		return nil // nothing can hold it (and the clock is not read)
	}
	now := a.now()
	title := req.Payload.IncidentTitle(al)
	in := routing.Input{Severity: req.severity(set, al), Title: title, Labels: al.Labels}
	th, hasTh := noise.Match(set.Thresholds, in)
	win, err := a.activeWindow(ctx, ws, req, al, in, now)
	if err != nil {
		return err
	}
	if win == nil && !hasTh {
		return nil
	}
	name := heldDoc(req.Source, al.Fingerprint)
	one := *req.Payload
	one.Alerts = []alert.Alert{al}
	var open bool
	var due time.Time
	h, _, err := updateDoc(ctx, a.store, name, func(h *heldAlert, exists bool) error {
		if !exists || !h.Firing {
			*h = heldAlert{Source: req.Source, TeamID: req.TeamID, ActorID: req.ActorID, Severity: req.Severity, Rota: req.Rota, First: now.UTC()}
		}
		h.Payload, h.Firing = one, true
		h.Seen = append(h.Seen, now.UTC())
		if n := len(h.Seen) - noise.MaxCount; n > 0 {
			h.Seen = h.Seen[n:]
		}
		h.Window, h.Threshold = "", ""
		if win != nil {
			h.Window = win.ID
			return nil
		}
		h.Threshold = th.String()
		if open, due = th.Met(h.First, h.Seen, now); open {
			return cas.ErrDelete // met: the alert opens its incident now
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("hold alert %s: %w", al.Fingerprint, err)
	}
	if open {
		a.log.Info().Str("fingerprint", al.Fingerprint).Str("threshold", th.String()).Msg("alert threshold met")
		return nil
	}
	if win != nil {
		if err := a.holdInWindow(ctx, win.ID, name); err != nil {
			return err
		}
		a.log.Info().Str("fingerprint", al.Fingerprint).Str("window", win.ID).Msg("alert held: maintenance window")
		return errHeld
	}
	if err := a.work.Schedule(ctx, kindHeld, name, due); err != nil {
		return err
	}
	a.log.Info().Str("fingerprint", al.Fingerprint).Str("threshold", h.Threshold).Int("seen", len(h.Seen)).Msg("alert held: noise threshold")
	return errHeld
}

// heldResolved notes that a held alert stopped firing: it opens nothing
// when released.
func (a *App) heldResolved(ctx context.Context, src alert.Source, fingerprint string) (bool, error) {
	name := heldDoc(src, fingerprint)
	_, wrote, err := updateDoc(ctx, a.store, name, func(h *heldAlert, exists bool) error {
		if !exists || !h.Firing {
			return errUnchanged
		}
		h.Firing = false
		return nil
	})
	return wrote, err
}

// releaseHeld opens the incident of the held alert of doc if it still
// fires, and forgets it either way; window is the window releasing it
// ("" for a threshold's time). It reports whether it opened one.
func (a *App) releaseHeld(ctx context.Context, doc, window string) (bool, error) {
	h, ok, err := loadDoc[heldAlert](ctx, a.store, doc)
	if err != nil || !ok {
		return false, err
	}
	if h.Window != window {
		return false, nil // held by another window, or by a threshold now
	}
	if h.Firing {
		if window == "" {
			th, found := noise.Match(a.settings().Alerts.Thresholds, routing.Input{Labels: h.Payload.Alerts[0].Labels, Title: h.Payload.IncidentTitle(h.Payload.Alerts[0])})
			if found {
				if met, due := th.Met(h.First, h.Seen, a.now()); !met {
					if th.For > 0 {
						return false, a.work.Schedule(ctx, kindHeld, doc, due)
					}
					return false, a.forgetHeld(ctx, doc) // the count was not reached in its window
				}
			}
		}
		req := AlertRequest{Source: h.Source, TeamID: h.TeamID, ActorID: h.ActorID, Severity: h.Severity, Rota: h.Rota, Payload: &h.Payload, ungated: true}
		if _, err := a.IngestAlerts(ctx, req); err != nil {
			return false, err
		}
	}
	return h.Firing, a.forgetHeld(ctx, doc)
}

func (a *App) forgetHeld(ctx context.Context, doc string) error {
	_, _, err := updateDoc(ctx, a.store, doc, func(*heldAlert, bool) error { return cas.ErrDelete })
	return err
}

// runHeldAlert is the worker of kind "alertheld": a threshold's time has
// come for a held alert.
func (a *App) runHeldAlert(ctx context.Context, job work.Job) (work.Outcome, error) {
	_, err := a.releaseHeld(ctx, job.Key, "")
	return work.Outcome{}, err
}
