package app

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/noise"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// AlertSettings configures alert intake from monitoring.
type AlertSettings struct {
	// Tokens holds each source's secret; a source without one is disabled.
	Tokens map[alert.Source]string
	// TeamName is the team whose incidents alerts open ("" = the broadcast
	// channel's team). The api adapter resolves it.
	TeamName string
	// SeverityLabel names the label whose value SeverityMap maps.
	SeverityLabel string
	SeverityMap   alert.SeverityMap
	// DefaultSeverity applies when the label is missing or unmapped.
	DefaultSeverity incident.Severity
	// Thresholds hold back noisy alerts (see alert_gate.go).
	Thresholds []noise.Threshold
}

// AlertSettings returns the current alert intake settings.
func (a *App) AlertSettings() AlertSettings { return a.settings().Alerts }

// AlertRequest is one authenticated notification from a monitoring source.
type AlertRequest struct {
	Source  alert.Source
	TeamID  string // team of incidents it opens
	ActorID string // who opens them: the bot
	Payload *alert.Payload
	// Severity, when set, is the severity of incidents opened (not the
	// severity label's); Rota, when set, the rota that staffs them (not
	// the routing rules'). Heartbeats set both.
	Severity incident.Severity
	Rota     string
	// ungated: a held alert released (see alert_gate.go), not held again.
	ungated bool
}

// AlertResult counts what a notification did.
type AlertResult struct {
	Opened    int      `json:"opened"`
	Attached  int      `json:"attached"`
	Resolved  int      `json:"resolved"`
	Ignored   int      `json:"ignored"`             // resolved alerts with no incident
	Held      int      `json:"held"`                // firing alerts held back: a maintenance window or a noise threshold
	Incidents []string `json:"incidents,omitempty"` // ids touched, in alert order
}

// alertLink is the document alerts/v1/<source>/<fingerprint>: which
// incident an alert belongs to. While a delivery opens the incident it
// holds the link's lease; deliveries of the same alert meanwhile do not
// wait for it: they leave their note on the link (Waiting), and whoever
// holds the lease attaches the notes to the incident once it exists. The
// incident's id follows from the link and the attempt (alertIncidentID),
// so that a delivery taking over from an opener that died finds the
// incident it may have opened, instead of opening a second one.
type alertLink struct {
	IncidentID string    `json:"incident_id,omitempty"`
	Lease      cas.Lease `json:"lease,omitzero"`
	// Attempt counts the openings begun: attempt n opens the incident
	// alertIncidentID(link, n).
	Attempt int `json:"attempt,omitempty"`
	// Waiting are the notes of deliveries that came while the incident
	// was being opened.
	Waiting []alertNote `json:"waiting,omitempty"`
}

// alertNote is a delivery's note left on a link.
type alertNote struct {
	ID    string             `json:"id"`
	At    time.Time          `json:"at"`
	Type  incident.EventType `json:"type"`
	Text  string             `json:"text"`
	Actor string             `json:"actor"`
}

func alertDocName(src alert.Source, fingerprint string) string {
	return "alerts/v1/" + string(src) + "/" + fingerprint
}

// IngestAlerts acts on each alert of a notification: a firing alert opens
// an incident (and pages as usual) unless its fingerprint already maps to an
// active incident, to whose timeline it then adds alert_repeated; a resolved
// alert adds alert_resolved to its incident, which stays as it is. Alerts are
// handled one by one: a failure with one is returned (joined) after the
// others were tried, and what was done is counted either way. No delivery
// waits for another: one that comes while its incident is being opened
// leaves its note for the opener.
func (a *App) IngestAlerts(ctx context.Context, req AlertRequest) (AlertResult, error) {
	var res AlertResult
	if req.Payload == nil || req.TeamID == "" || req.ActorID == "" {
		return res, errors.New("ingest alerts: payload, team and actor are required")
	}
	set := a.settings().Alerts
	var errs []error
	for _, al := range req.Payload.Alerts {
		var id string
		var err error
		if al.Firing() {
			var opened bool
			if id, opened, err = a.alertFiring(ctx, req, set, al); err == nil {
				if opened {
					res.Opened++
				} else {
					res.Attached++
				}
			}
		} else {
			var noted bool
			if id, noted, err = a.alertResolved(ctx, req, al); err == nil {
				if noted {
					res.Resolved++
				} else {
					res.Ignored++
				}
			}
		}
		if errors.Is(err, errHeld) {
			res.Held++
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("alert %s: %w", al.Fingerprint, err))
			continue
		}
		if id != "" {
			res.Incidents = append(res.Incidents, id)
		}
	}
	return res, errors.Join(errs...)
}

// linkTries bounds the lost races of one delivery on its link.
const linkTries = 50

// alertFiring opens an incident for al or attaches al to its open one.
// A delivery of an alert whose incident is being opened right now leaves
// its note for the opener and answers at once (attached, no id yet).
func (a *App) alertFiring(ctx context.Context, req AlertRequest, set AlertSettings, al alert.Alert) (id string, opened bool, err error) {
	name := alertDocName(req.Source, al.Fingerprint)
	text := "Alert firing again: " + req.Payload.IncidentTitle(al)
	gated := false
	for range linkTries {
		raw, link, err := a.alertLink(ctx, name)
		if err != nil {
			return "", false, err
		}
		if link.IncidentID != "" {
			inc, err := a.store.GetIncident(ctx, link.IncidentID)
			switch {
			case err == nil && inc.Status.Active():
				return inc.ID, false, a.alertEvent(ctx, req, inc.ID, al, incident.EventAlertRepeated, text)
			case err != nil && !errors.Is(err, incident.ErrNotFound):
				return "", false, err
			}
			// Its incident is over (or gone): the alert starts a new one.
		} else if link.Lease.Held() && !a.work.Watch().MayTake(name, link.Lease) {
			note := alertNote{ID: claimToken(), At: a.now().UTC(), Type: incident.EventAlertRepeated, Text: text, Actor: req.ActorID}
			if ok, err := a.noteOnLink(ctx, name, raw, link, note); err != nil || ok {
				return "", false, err
			}
			continue // the link changed meanwhile: look again
		}
		if !gated { // once per delivery, however many races it loses
			if err := a.gate(ctx, req, set, al); err != nil {
				return "", false, err // held back (errHeld), or the gate failed
			}
			gated = true
		}
		owner := cas.NewOwner()
		took, err := a.takeLink(ctx, name, raw, link, owner)
		if err != nil {
			return "", false, err
		}
		if took != nil {
			return a.openForAlert(ctx, req, set, al, name, took, owner)
		}
	}
	return "", false, incident.Conflictf("%s: too many concurrent changes, try again", name)
}

// takeLink takes the link's lease for a new opening (raw is the link as
// read; nil: there is none). It returns the link as taken, or nil when
// another delivery changed it first.
func (a *App) takeLink(ctx context.Context, name string, raw []byte, link alertLink, owner string) (*alertLink, error) {
	next := link
	if next.IncidentID != "" { // a new incident for an alert whose incident is over
		next = alertLink{Attempt: link.Attempt, Lease: link.Lease}
	}
	next.Lease.Take(owner, a.now())
	next.Attempt++
	b, err := cas.Encode(raw, &next)
	if err != nil {
		return nil, err
	}
	ok, err := a.store.CompareAndSetDoc(ctx, name, raw, b)
	if err != nil || !ok {
		return nil, err
	}
	a.work.Watch().Forget(name)
	return &next, nil
}

// noteOnLink adds note to the link if it is still as read (raw); false
// when it changed meanwhile.
func (a *App) noteOnLink(ctx context.Context, name string, raw []byte, link alertLink, note alertNote) (bool, error) {
	link.Waiting = append(link.Waiting, note)
	b, err := cas.Encode(raw, &link)
	if err != nil {
		return false, err
	}
	return a.store.CompareAndSetDoc(ctx, name, raw, b)
}

// openForAlert opens the incident of an alert whose link owner holds (as
// took), keeping the lease alive meanwhile, or adopts the one an opener
// that died had opened; then it records the incident on the link and
// attaches the notes left meanwhile.
func (a *App) openForAlert(ctx context.Context, req AlertRequest, set AlertSettings, al alert.Alert, name string, took *alertLink, owner string) (string, bool, error) {
	hctx, stop := work.Hold(ctx, a.work.Clock(), func(ctx context.Context) (bool, error) {
		_, _, err := updateDoc(ctx, a.store, name, func(l *alertLink, _ bool) error {
			if !l.Lease.HeldBy(owner) {
				return errLeaseLost
			}
			l.Lease.Renew(a.now())
			return nil
		})
		if errors.Is(err, errLeaseLost) {
			return false, nil
		}
		return err == nil, err
	})
	defer stop()
	// The attempts before this one: their opener died, maybe after
	// opening the incident.
	var inc *incident.Incident
	for n := took.Attempt - 1; n >= 1 && n >= took.Attempt-3 && inc == nil; n-- {
		if got, err := a.store.GetIncident(ctx, alertIncidentID(name, n)); err == nil && got.Status.Active() {
			inc = got
		}
	}
	opened := false
	if inc == nil {
		var err error
		inc, err = a.Start(hctx, StartRequest{ID: alertIncidentID(name, took.Attempt), TeamID: req.TeamID, ActorID: req.ActorID,
			Title: req.Payload.IncidentTitle(al), Summary: req.Payload.IncidentSummary(al),
			Severity: req.severity(set, al), Rota: req.Rota, Labels: al.Labels, AlertLink: name})
		if err != nil {
			// Give the alert back, so that the sender's retry can open it.
			if _, _, uerr := updateDoc(context.WithoutCancel(ctx), a.store, name, func(l *alertLink, _ bool) error {
				if !l.Lease.HeldBy(owner) {
					return errUnchanged
				}
				l.Lease.Release()
				return nil
			}); uerr != nil {
				a.log.Error().Err(uerr).Str("doc", name).Msg("release alert link")
			}
			return "", false, err
		}
		opened = true
		a.log.Info().Str("incident", inc.ID).Str("alert_source", string(req.Source)).Str("fingerprint", al.Fingerprint).Msg("incident opened by alert")
	}
	if err := a.settleLink(context.WithoutCancel(ctx), name, inc.ID, owner); err != nil {
		// The incident exists and its id follows from the link: the next
		// delivery adopts it and attaches the notes.
		a.log.Error().Err(err).Str("doc", name).Str("incident", inc.ID).Msg("link alert to its incident")
	}
	return inc.ID, opened, nil
}

// severity is the severity of an incident al opens.
func (req AlertRequest) severity(set AlertSettings, al alert.Alert) incident.Severity {
	if req.Severity != 0 {
		return req.Severity
	}
	return set.SeverityMap.Severity(al, set.SeverityLabel, set.DefaultSeverity)
}

// settleLink records the incident on the link and attaches the notes left
// on it, each once (their events are keyed by note), then releases the
// lease.
func (a *App) settleLink(ctx context.Context, name, incidentID, owner string) error {
	for range linkTries {
		raw, link, err := a.alertLink(ctx, name)
		if err != nil {
			return err
		}
		if !link.Lease.HeldBy(owner) {
			return nil // taken over: the taker settles it
		}
		if len(link.Waiting) > 0 {
			if err := a.attachNotes(ctx, name, incidentID, link.Waiting); err != nil {
				return err
			}
		}
		next := link
		next.IncidentID, next.Waiting = incidentID, nil
		next.Lease.Release()
		b, err := cas.Encode(raw, &next)
		if err != nil {
			return err
		}
		if ok, err := a.store.CompareAndSetDoc(ctx, name, raw, b); err != nil || ok {
			return err
		}
	}
	return incident.Conflictf("%s: too many concurrent changes", name)
}

// attachNotes owes the notes' events on the incident in one follow-up,
// keyed by note, so that attaching them again after a crash adds nothing.
func (a *App) attachNotes(ctx context.Context, name, incidentID string, notes []alertNote) error {
	_, err := a.commitWith(ctx, incidentID, func(i *incident.Incident, now time.Time) error {
		evs := make([]incident.Event, 0, len(notes))
		steps := make([]incident.Step, 0, len(notes))
		for k, n := range notes {
			evs = append(evs, incident.NewEvent(n.At, n.Actor, n.Type, n.Text))
			steps = append(steps, incident.Step{Kind: incident.StepPublish, Event: k})
		}
		i.Owe(now, evs, steps...)
		f := &i.Outbox[len(i.Outbox)-1]
		for k, n := range notes {
			f.Events[k].Key = name + "/" + n.ID
		}
		f.Retry = true // keyed by note: looked for on the timeline before appending
		return nil
	})
	return err
}

// alertResolved notes al's resolution on its incident; noted is false when
// the alert has no incident (it fired before intake was set up, or only
// resolved notifications reached us). While its incident is being opened
// the note is left for the opener.
func (a *App) alertResolved(ctx context.Context, req AlertRequest, al alert.Alert) (id string, noted bool, err error) {
	name := alertDocName(req.Source, al.Fingerprint)
	text := "Alert resolved: " + req.Payload.IncidentTitle(al)
	for range linkTries {
		raw, link, err := a.alertLink(ctx, name)
		if err != nil {
			return "", false, err
		}
		if raw == nil {
			_, err := a.heldResolved(ctx, req.Source, al.Fingerprint) // a held alert stops firing
			return "", false, err
		}
		if link.IncidentID == "" {
			if !link.Lease.Held() || a.work.Watch().MayTake(name, link.Lease) {
				_, err := a.heldResolved(ctx, req.Source, al.Fingerprint)
				return "", false, err // an abandoned opening: no incident to note it on
			}
			note := alertNote{ID: claimToken(), At: a.now().UTC(), Type: incident.EventAlertResolved, Text: text, Actor: req.ActorID}
			if ok, err := a.noteOnLink(ctx, name, raw, link, note); err != nil || ok {
				return "", ok, err
			}
			continue
		}
		inc, err := a.store.GetIncident(ctx, link.IncidentID)
		if errors.Is(err, incident.ErrNotFound) {
			_, err := a.heldResolved(ctx, req.Source, al.Fingerprint)
			return "", false, err
		} else if err != nil {
			return "", false, err
		}
		if !inc.Status.Active() {
			// Its incident is over; the alert may have been held since.
			if _, err := a.heldResolved(ctx, req.Source, al.Fingerprint); err != nil {
				return "", false, err
			}
		}
		return inc.ID, true, a.alertEvent(ctx, req, inc.ID, al, incident.EventAlertResolved, text)
	}
	return "", false, incident.Conflictf("%s: too many concurrent changes, try again", name)
}

// alertLink reads the link document; raw is its bytes for a later
// compare-and-set (nil when absent).
func (a *App) alertLink(ctx context.Context, name string) (raw []byte, link alertLink, err error) {
	if raw, err = a.store.GetDoc(ctx, name); err != nil || raw == nil {
		return raw, link, err
	}
	if err := json.Unmarshal(raw, &link); err != nil {
		return nil, link, fmt.Errorf("decode %s: %w", name, err)
	}
	return raw, link, nil
}

// alertEvent records a note-like alert event on an incident, with its post
// in the incident channel as the event's follow-up.
func (a *App) alertEvent(ctx context.Context, req AlertRequest, incidentID string, al alert.Alert, typ incident.EventType, text string) error {
	_, _, err := a.commit(ctx, incidentID, func(_ *incident.Incident, now time.Time) ([]incident.Event, []incident.Step, error) {
		ev := incident.NewEvent(now, req.ActorID, typ, text).
			With(incident.DataAlertSource, string(req.Source)).With(incident.DataFingerprint, al.Fingerprint)
		return []incident.Event{ev}, []incident.Step{{Kind: incident.StepPublish, Event: 0}}, nil
	})
	return err
}

// alertIncidentID is the id of the incident attempt n opens for the alert
// of link name: derived, so that a taker finds what an opener that died
// opened.
func alertIncidentID(name string, n int) string {
	sum := sha256.Sum256([]byte(name + "#" + strconv.Itoa(n)))
	out := make([]byte, 6)
	for i := range out {
		out[i] = IDAlphabet[int(sum[i])%len(IDAlphabet)]
	}
	return string(out)
}

// IDAlphabet is the alphabet of incident ids: no look-alike characters
// (no 0/o, 1/l), so that ids survive being read aloud on a bridge call.
const IDAlphabet = "23456789abcdefghijkmnpqrstuvwxyz"

// kindAlertLink is the work kind that removes the link of an alert whose
// incident has been resolved for alertLinkKept.
const kindAlertLink = "alertlink"

// alertLinkKept is how long an alert's link outlives its incident's
// resolution: a late "resolved" notification is still noted on it.
const alertLinkKept = 7 * 24 * time.Hour

// forgetStep is the StepForget of a resolution: it schedules the removal
// of the incident's alert link.
func (a *App) forgetStep(ctx context.Context, inc *incident.Incident) error {
	if inc.AlertLink == "" || inc.Status.Active() {
		return nil
	}
	return a.work.Schedule(ctx, kindAlertLink, inc.AlertLink, inc.ResolvedAt.Add(alertLinkKept))
}

// runAlertLink removes the alert link job.Key when its incident is still
// resolved (or gone); a reopened incident's resolution schedules it again.
func (a *App) runAlertLink(ctx context.Context, job work.Job) (work.Outcome, error) {
	if !strings.HasPrefix(job.Key, "alerts/v1/") {
		return work.Outcome{}, nil
	}
	raw, link, err := a.alertLink(ctx, job.Key)
	if err != nil || raw == nil || link.Lease.Held() {
		return work.Outcome{}, err
	}
	if link.IncidentID != "" {
		inc, err := a.store.GetIncident(ctx, link.IncidentID)
		switch {
		case err == nil && (inc.Status.Active() || a.now().Sub(inc.ResolvedAt) < alertLinkKept):
			return work.Outcome{}, nil // in use again
		case err != nil && !errors.Is(err, incident.ErrNotFound):
			return work.Outcome{}, err
		}
	}
	if _, err := a.store.CompareAndSetDoc(ctx, job.Key, raw, nil); err != nil {
		return work.Outcome{}, err
	}
	return work.Outcome{}, nil
}

// BroadcastChannelID returns the configured broadcast channel ("" = none).
func (a *App) BroadcastChannelID() string { return a.settings().BroadcastChannelID }
