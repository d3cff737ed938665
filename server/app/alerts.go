package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
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
}

// AlertSettings returns the current alert intake settings.
func (a *App) AlertSettings() AlertSettings { return a.settings().Alerts }

// AlertRequest is one authenticated notification from a monitoring source.
type AlertRequest struct {
	Source  alert.Source
	TeamID  string // team of incidents it opens
	ActorID string // who opens them: the bot
	Payload *alert.Payload
}

// AlertResult counts what a notification did.
type AlertResult struct {
	Opened    int      `json:"opened"`
	Attached  int      `json:"attached"`
	Resolved  int      `json:"resolved"`
	Ignored   int      `json:"ignored"`             // resolved alerts with no incident
	Incidents []string `json:"incidents,omitempty"` // ids touched, in alert order
}

// alertLink is the document alerts/v1/<source>/<fingerprint>: which
// incident an alert belongs to. While a delivery opens the incident it holds
// only a claim, so that a concurrent delivery of the same alert waits for
// that incident instead of opening a second one.
type alertLink struct {
	IncidentID string    `json:"incident_id,omitempty"`
	Claim      string    `json:"claim,omitempty"` // the claiming delivery's nonce
	ClaimedAt  time.Time `json:"claimed_at,omitzero"`
}

const (
	// alertClaimLease is how long a claim stands before another delivery
	// may take it over: long enough for a slow Start, short enough that a
	// crashed node does not swallow an alert for long.
	alertClaimLease = 2 * time.Minute
	// alertClaimWait bounds how long a delivery waits for a concurrent one
	// to finish opening the incident before it answers "try again" (the
	// senders retry).
	alertClaimWait = 15 * time.Second
	alertClaimPoll = 25 * time.Millisecond
)

func alertDocName(src alert.Source, fingerprint string) string {
	return "alerts/v1/" + string(src) + "/" + fingerprint
}

// IngestAlerts acts on each alert of a notification: a firing alert opens
// an incident (and pages as usual) unless its fingerprint already maps to an
// active incident, to whose timeline it then adds alert_repeated; a resolved
// alert adds alert_resolved to its incident, which stays as it is. Alerts are
// handled one by one: a failure with one is returned (joined) after the
// others were tried, and what was done is counted either way.
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
			if id, err = a.alertResolved(ctx, req, al); err == nil {
				if id == "" {
					res.Ignored++
				} else {
					res.Resolved++
				}
			}
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

// alertFiring opens an incident for al or attaches al to its open one.
func (a *App) alertFiring(ctx context.Context, req AlertRequest, set AlertSettings, al alert.Alert) (id string, opened bool, err error) {
	name := alertDocName(req.Source, al.Fingerprint)
	waitUntil := time.Now().Add(alertClaimWait)
	err = cas.Default.Retry(ctx, func() (bool, error) {
		old, link, err := a.settledLink(ctx, name, waitUntil)
		if err != nil {
			return false, err
		}
		if link.IncidentID != "" {
			inc, err := a.store.GetIncident(ctx, link.IncidentID)
			switch {
			case err == nil && inc.Status.Active():
				id = inc.ID
				return true, a.alertEvent(ctx, req, inc, al, incident.EventAlertRepeated, "Alert firing again")
			case err != nil && !errors.Is(err, incident.ErrNotFound):
				return false, err
			}
			// Its incident is over (or gone): the alert starts a new one.
		}
		claim, err := json.Marshal(alertLink{Claim: claimToken(), ClaimedAt: time.Now().UTC()})
		if err != nil {
			return false, err
		}
		// old nil makes this an insert-if-absent: of any number of
		// deliveries racing for a new alert exactly one gets past it.
		if ok, err := a.store.CompareAndSetDoc(ctx, name, old, claim); err != nil || !ok {
			return false, err
		}
		inc, err := a.Start(ctx, StartRequest{TeamID: req.TeamID, ActorID: req.ActorID,
			Title: req.Payload.IncidentTitle(al), Summary: req.Payload.IncidentSummary(al),
			Severity: set.SeverityMap.Severity(al, set.SeverityLabel, set.DefaultSeverity), Labels: al.Labels})
		if err != nil {
			// Give the alert back, so that the sender's retry can open it.
			if _, uerr := a.store.CompareAndSetDoc(context.WithoutCancel(ctx), name, claim, old); uerr != nil {
				a.log.Error().Err(uerr).Str("doc", name).Msg("release alert claim")
			}
			return false, err
		}
		done, err := json.Marshal(alertLink{IncidentID: inc.ID})
		if err == nil {
			var ok bool
			if ok, err = a.store.CompareAndSetDoc(ctx, name, claim, done); err == nil && !ok {
				err = errors.New("claim taken over")
			}
		}
		if err != nil {
			// The incident exists; only later repeats may open another.
			a.log.Error().Err(err).Str("doc", name).Str("incident", inc.ID).Msg("link alert to its incident")
		}
		a.log.Info().Str("incident", inc.ID).Str("alert_source", string(req.Source)).Str("fingerprint", al.Fingerprint).Msg("incident opened by alert")
		id, opened = inc.ID, true
		return true, nil
	})
	if errors.Is(err, cas.ErrContended) {
		return "", false, incident.Conflictf("%s: too many concurrent changes, try again", name)
	}
	return id, opened, err
}

// settledLink reads the link document, waiting (until waitUntil) while
// another delivery holds a fresh claim on it: that delivery is opening the
// incident right now. Wall time, not the app clock: the claim is between
// processes.
func (a *App) settledLink(ctx context.Context, name string, waitUntil time.Time) (old []byte, link alertLink, err error) {
	for {
		old, link, err = a.alertLink(ctx, name)
		if err != nil || old == nil || link.IncidentID != "" || time.Since(link.ClaimedAt) >= alertClaimLease {
			return old, link, err
		}
		if time.Now().After(waitUntil) {
			return nil, link, incident.Conflictf("the incident for this alert is still being opened; send it again")
		}
		if err := cas.Pause(ctx, alertClaimPoll); err != nil {
			return nil, link, err
		}
	}
}

// alertResolved notes al's resolution on its incident; id is "" when the
// alert has no incident (it fired before intake was set up, or only
// resolved notifications reached us).
func (a *App) alertResolved(ctx context.Context, req AlertRequest, al alert.Alert) (id string, err error) {
	name := alertDocName(req.Source, al.Fingerprint)
	waitUntil := time.Now().Add(alertClaimWait)
	for {
		old, link, err := a.alertLink(ctx, name)
		if err != nil || old == nil {
			return "", err
		}
		if link.IncidentID == "" {
			if time.Since(link.ClaimedAt) >= alertClaimLease {
				return "", nil // an abandoned claim: no incident to note it on
			}
			if time.Now().After(waitUntil) {
				return "", incident.Conflictf("the incident for this alert is still being opened; send it again")
			}
			if err := cas.Pause(ctx, alertClaimPoll); err != nil {
				return "", err
			}
			continue
		}
		inc, err := a.store.GetIncident(ctx, link.IncidentID)
		if errors.Is(err, incident.ErrNotFound) {
			return "", nil
		} else if err != nil {
			return "", err
		}
		return inc.ID, a.alertEvent(ctx, req, inc, al, incident.EventAlertResolved, "Alert resolved")
	}
}

// alertLink reads the link document; old is its raw bytes for a later
// compare-and-set (nil when absent).
func (a *App) alertLink(ctx context.Context, name string) (old []byte, link alertLink, err error) {
	if old, err = a.store.GetDoc(ctx, name); err != nil || old == nil {
		return old, link, err
	}
	if err := json.Unmarshal(old, &link); err != nil {
		return nil, link, fmt.Errorf("decode %s: %w", name, err)
	}
	return old, link, nil
}

// alertEvent records a note-like alert event on inc, with its post in the
// incident channel as the event's follow-up.
func (a *App) alertEvent(ctx context.Context, req AlertRequest, inc *incident.Incident, al alert.Alert, typ incident.EventType, what string) error {
	_, _, err := a.commit(ctx, inc.ID, func(_ *incident.Incident, now time.Time) ([]incident.Event, []incident.Step, error) {
		ev := incident.NewEvent(now, req.ActorID, typ, what+": "+req.Payload.IncidentTitle(al)).
			With(incident.DataAlertSource, string(req.Source)).With(incident.DataFingerprint, al.Fingerprint)
		return []incident.Event{ev}, []incident.Step{{Kind: incident.StepPublish, Event: 0}}, nil
	})
	return err
}

// BroadcastChannelID returns the configured broadcast channel ("" = none).
func (a *App) BroadcastChannelID() string { return a.settings().BroadcastChannelID }
