package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/cas"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/work"
)

// Heartbeats (dead man's switches). Monitoring calls a heartbeat's URL
// with its token at least every Every; when no beat has come for Every +
// Grace, the heartbeat is missed and opens an incident through the alert
// path (source "heartbeat", the heartbeat's name as fingerprint), so it is
// opened once across the cluster, staffed, routed and paged like an
// alert; a beat that returns resolves the alert, which notes the recovery
// on the incident's timeline.
//
// A beat is one read and one compare-and-set of the heartbeat's document.
// The check runs on the work engine: an entry per heartbeat, due when it
// would be missed; the check finds the last beat in the document and moves
// its entry on, so beats never touch the index.

// kindHeartbeat is the work kind of the missed-heartbeat checks.
const kindHeartbeat = "heartbeat"

// heartbeatSource is the alert source heartbeats open incidents as.
const heartbeatSource alert.Source = "heartbeat"

// Bounds.
const (
	MaxHeartbeats = 200
	MinHeartbeat  = 10 * time.Second // the shortest Every and Grace
	MaxHeartbeat  = 7 * 24 * time.Hour
)

// heartbeatsDoc lists the heartbeats' names; heartbeatDoc holds one.
const heartbeatsDoc = "heartbeats/v1"

func heartbeatDoc(name string) string { return "heartbeat/v1/" + name }

// Heartbeat is one dead man's switch.
type Heartbeat struct {
	Name     string            `json:"name"`
	Every    time.Duration     `json:"every"`
	Grace    time.Duration     `json:"grace"`
	Severity incident.Severity `json:"severity"`
	// Rota staffs its incidents; "" routes them like alerts.
	Rota string `json:"rota,omitempty"`
	// TeamID is the team its incidents open in (where it was added).
	TeamID    string    `json:"team_id"`
	TokenHash string    `json:"token_hash"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// LastBeat is the last beat; zero before the first.
	LastBeat time.Time `json:"last_beat,omitzero"`
	Beats    int64     `json:"beats"`
	// DownSince is when it was found missed; zero while it is up. Opened
	// is set once its incident is open (or attached to one).
	DownSince time.Time `json:"down_since,omitzero"`
	Opened    bool      `json:"opened,omitempty"`
	Revision  int64     `json:"revision"`
}

// DueAt is when the heartbeat is missed without another beat.
func (h *Heartbeat) DueAt() time.Time {
	from := h.LastBeat
	if from.IsZero() {
		from = h.CreatedAt
	}
	return from.Add(h.Every + h.Grace)
}

// Down reports whether the heartbeat was found missed and has not beaten
// since.
func (h *Heartbeat) Down() bool { return !h.DownSince.IsZero() }

type heartbeatList struct {
	Names []string `json:"names"`
}

var heartbeatName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,47}$`)

// HeartbeatSpec is what an admin gives to add a heartbeat.
type HeartbeatSpec struct {
	Name        string
	Every       time.Duration
	Grace       time.Duration
	Severity    incident.Severity
	Rota        string
	TeamID      string
	Description string
}

func checkHeartbeatPeriod(what string, d time.Duration) error {
	if d < MinHeartbeat || d > MaxHeartbeat {
		return incident.Invalidf("%s is %s; give between %s and 7 days, e.g. 5m", what, incident.FormatDuration(d), MinHeartbeat)
	}
	return nil
}

// AddHeartbeat adds a heartbeat (system and rota admins) and returns its
// token, shown once: only its hash is kept.
func (a *App) AddHeartbeat(ctx context.Context, actor string, spec HeartbeatSpec) (*Heartbeat, string, error) {
	if !a.mayEditRota(ctx, actor) {
		return nil, "", incident.Forbiddenf("only system admins and rota admins add heartbeats")
	}
	if !heartbeatName.MatchString(spec.Name) {
		return nil, "", incident.Invalidf("a heartbeat's name is 1 to 48 lower-case letters, digits and dashes, such as `prometheus-watchdog`")
	}
	if err := checkHeartbeatPeriod("--every", spec.Every); err != nil {
		return nil, "", err
	}
	if spec.Grace == 0 {
		spec.Grace = max(spec.Every/2, MinHeartbeat)
	}
	if err := checkHeartbeatPeriod("--grace", spec.Grace); err != nil {
		return nil, "", err
	}
	if spec.Severity == 0 {
		spec.Severity = incident.S2
	}
	if spec.Rota != "" {
		e, err := a.rotaEntry(ctx, spec.Rota)
		if err != nil {
			return nil, "", err
		}
		spec.Rota = e.Name
	}
	if spec.TeamID == "" {
		return nil, "", incident.Invalidf("add heartbeats from a channel of the team their incidents open in")
	}
	token := newHeartbeatToken()
	now := a.now()
	h := &Heartbeat{Name: spec.Name, Every: spec.Every, Grace: spec.Grace, Severity: spec.Severity, Rota: spec.Rota, TeamID: spec.TeamID,
		TokenHash: tokenHash(token), CreatedBy: actor, CreatedAt: now.UTC(), Revision: 1}
	if _, _, err := updateDoc(ctx, a.store, heartbeatsDoc, func(l *heartbeatList, _ bool) error {
		if slices.Contains(l.Names, spec.Name) {
			return incident.Conflictf("there is a heartbeat %q already; `/incident heartbeat remove %s` first, or `token %s` for a new token", spec.Name, spec.Name, spec.Name)
		}
		if len(l.Names) >= MaxHeartbeats {
			return incident.Invalidf("there are %d heartbeats; remove one first", MaxHeartbeats)
		}
		l.Names = append(l.Names, spec.Name)
		return nil
	}); err != nil {
		return nil, "", err
	}
	// Its check is findable before it exists; a check without a record
	// ends itself.
	if err := a.work.Schedule(ctx, kindHeartbeat, spec.Name, h.DueAt()); err != nil {
		return nil, "", fmt.Errorf("add heartbeat: schedule its check: %w", err)
	}
	if _, _, err := updateDoc(ctx, a.store, heartbeatDoc(spec.Name), func(cur *Heartbeat, _ bool) error {
		*cur = *h
		return nil
	}); err != nil {
		return nil, "", fmt.Errorf("add heartbeat: %w", err)
	}
	a.log.Info().Str("actor", actor).Str("heartbeat", spec.Name).Dur("every", spec.Every).Msg("heartbeat added")
	return h, token, nil
}

func newHeartbeatToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ResetHeartbeatToken gives heartbeat name a new token; the old one stops
// working at once.
func (a *App) ResetHeartbeatToken(ctx context.Context, actor, name string) (string, error) {
	if !a.mayEditRota(ctx, actor) {
		return "", incident.Forbiddenf("only system admins and rota admins manage heartbeats")
	}
	token := newHeartbeatToken()
	_, _, err := updateDoc(ctx, a.store, heartbeatDoc(name), func(h *Heartbeat, exists bool) error {
		if !exists {
			return incident.NotFoundf("there is no heartbeat %q: `/incident heartbeat list` shows them", name)
		}
		h.TokenHash = tokenHash(token)
		h.Revision++
		return nil
	})
	return token, err
}

// RemoveHeartbeat removes heartbeat name; its check ends at its next run.
func (a *App) RemoveHeartbeat(ctx context.Context, actor, name string) error {
	if !a.mayEditRota(ctx, actor) {
		return incident.Forbiddenf("only system admins and rota admins manage heartbeats")
	}
	found := false
	if _, _, err := updateDoc(ctx, a.store, heartbeatsDoc, func(l *heartbeatList, _ bool) error {
		i := slices.Index(l.Names, name)
		if found = i >= 0; !found {
			return errUnchanged
		}
		l.Names = slices.Delete(l.Names, i, i+1)
		return nil
	}); err != nil {
		return err
	}
	if !found {
		return incident.NotFoundf("there is no heartbeat %q: `/incident heartbeat list` shows them", name)
	}
	_, _, err := updateDoc(ctx, a.store, heartbeatDoc(name), func(*Heartbeat, bool) error { return cas.ErrDelete })
	return err
}

// Heartbeats lists the heartbeats, in the order they were added.
func (a *App) Heartbeats(ctx context.Context) ([]*Heartbeat, error) {
	l, _, err := loadDoc[heartbeatList](ctx, a.store, heartbeatsDoc)
	if err != nil {
		return nil, err
	}
	out := make([]*Heartbeat, 0, len(l.Names))
	for _, n := range l.Names {
		h, ok, err := loadDoc[Heartbeat](ctx, a.store, heartbeatDoc(n))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// ErrBadHeartbeatToken refuses a beat without the heartbeat's token; it
// does not say whether the heartbeat exists.
var ErrBadHeartbeatToken = incident.Forbiddenf("unknown heartbeat or wrong token")

// Beat records a beat of heartbeat name, authenticated by token. A beat
// of a heartbeat that was down brings it back up: the recovery is noted on
// its incident's timeline, and its check is scheduled again.
func (a *App) Beat(ctx context.Context, name, token string) (*Heartbeat, error) {
	if !heartbeatName.MatchString(name) || token == "" {
		return nil, ErrBadHeartbeatToken
	}
	now := a.now()
	var was Heartbeat
	h, _, err := updateDoc(ctx, a.store, heartbeatDoc(name), func(h *Heartbeat, exists bool) error {
		if !exists || subtle.ConstantTimeCompare([]byte(h.TokenHash), []byte(tokenHash(token))) != 1 {
			return ErrBadHeartbeatToken
		}
		was = *h
		h.LastBeat = now.UTC()
		h.Beats++
		h.DownSince, h.Opened = time.Time{}, false
		h.Revision++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if was.Down() {
		a.log.Info().Str("heartbeat", name).Time("down_since", was.DownSince).Msg("heartbeat back")
		if err := a.work.Schedule(ctx, kindHeartbeat, name, h.DueAt()); err != nil {
			return h, fmt.Errorf("heartbeat %s is back; schedule its check: %w", name, err)
		}
		if _, err := a.IngestAlerts(ctx, a.heartbeatAlert(h, &was, alert.StatusResolved, now)); err != nil {
			return h, fmt.Errorf("heartbeat %s is back; note it on its incident: %w", name, err)
		}
	}
	return h, nil
}

// runHeartbeat is the worker of kind "heartbeat": when the heartbeat's
// last beat is older than Every + Grace it marks it down and opens its
// incident through the alert path; otherwise it looks again when it would
// be missed.
func (a *App) runHeartbeat(ctx context.Context, job work.Job) (work.Outcome, error) {
	name := job.Key
	h, ok, err := loadDoc[Heartbeat](ctx, a.store, heartbeatDoc(name))
	if err != nil || !ok {
		return work.Outcome{}, err // removed: its check ends
	}
	now := a.now()
	if h.Opened {
		return work.Outcome{}, nil // down and reported: a beat schedules the next check
	}
	if !h.Down() && now.Before(h.DueAt()) {
		return work.Outcome{Next: h.DueAt()}, nil
	}
	h, _, err = updateDoc(ctx, a.store, heartbeatDoc(name), func(cur *Heartbeat, exists bool) error {
		if !exists {
			return incident.NotFoundf("heartbeat %s was removed", name)
		}
		if cur.Down() || now.Before(cur.DueAt()) {
			return errUnchanged
		}
		cur.DownSince = now.UTC()
		cur.Revision++
		return nil
	})
	if incident.KindOf(err) == incident.KindNotFound {
		return work.Outcome{}, nil
	}
	if err != nil {
		return work.Outcome{}, err
	}
	if !h.Down() {
		return work.Outcome{Next: h.DueAt()}, nil // a beat came meanwhile
	}
	res, err := a.IngestAlerts(ctx, a.heartbeatAlert(h, h, alert.StatusFiring, now))
	if err != nil {
		return work.Outcome{}, fmt.Errorf("heartbeat %s missed: open its incident: %w", name, err) // retried
	}
	a.log.Warn().Str("heartbeat", name).Time("last_beat", h.LastBeat).Strs("incidents", res.Incidents).Msg("heartbeat missed")
	if _, _, err := updateDoc(ctx, a.store, heartbeatDoc(name), func(cur *Heartbeat, exists bool) error {
		if !exists || !cur.DownSince.Equal(h.DownSince) {
			return errUnchanged // removed, or back meanwhile
		}
		cur.Opened = true
		cur.Revision++
		return nil
	}); err != nil {
		return work.Outcome{}, err
	}
	return work.Outcome{}, nil
}

// heartbeatAlert is the alert a heartbeat raises (firing) or clears
// (resolved); was is the heartbeat as it was when it went down.
func (a *App) heartbeatAlert(h, was *Heartbeat, status string, now time.Time) AlertRequest {
	last := "no beat yet"
	if !was.LastBeat.IsZero() {
		last = "last beat " + was.LastBeat.UTC().Format(time.RFC3339)
	}
	al := alert.Alert{Status: status, Fingerprint: "hb-" + h.Name,
		Labels: map[string]string{"alertname": "HeartbeatMissed", "heartbeat": h.Name},
		Annotations: map[string]string{
			"summary":     "Heartbeat " + h.Name + " missed",
			"description": fmt.Sprintf("No beat of heartbeat %s for %s (every %s, grace %s; %s). Whatever sends it (monitoring, a cron job) may be down.", h.Name, incident.FormatDuration(now.Sub(orZero(was.LastBeat, was.CreatedAt))), incident.FormatDuration(h.Every), incident.FormatDuration(h.Grace), last),
		},
		StartsAt: was.DownSince}
	if status == alert.StatusResolved {
		al.Annotations["summary"] = "Heartbeat " + h.Name + " back"
		al.EndsAt = now
	}
	return AlertRequest{Source: heartbeatSource, TeamID: h.TeamID, ActorID: a.botID, Severity: h.Severity, Rota: h.Rota,
		Payload: &alert.Payload{Status: status, Alerts: []alert.Alert{al}}}
}

func orZero(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}
