package app

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"

	crand "crypto/rand"

	"github.com/incidentbot/mattermost-incident-bot/server/ical"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Calendar feeds: each user has a secret token naming their personal feed,
// and each admin one naming the whole rota's feed. A token's document holds
// it (to show it again); a reverse document keyed by the token's SHA-256
// finds the owner in one read without comparing secrets byte by byte.
// Every read checks the owner again: a deactivated user's feeds, and the
// team feed of someone who is no longer an admin, are gone at once. (The
// one team token that versions before 0.2 shared between all admins names
// nobody to check, so it no longer opens the feed.)
const (
	calendarUserDoc  = "calendar/user/"  // + user id
	calendarTeamDoc  = "calendar/team/"  // + user id
	calendarTokenDoc = "calendar/token/" // + hex SHA-256 of the token
	// CalendarDomain ends every event UID.
	CalendarDomain = "io.incidentbot.mattermost"
	// Feed window: the past 12 weeks and the coming 26.
	calendarPast   = 12 * 7 * 24 * time.Hour
	calendarFuture = 26 * 7 * 24 * time.Hour
)

type calendarToken struct {
	Token   string    `json:"token"`
	Created time.Time `json:"created"`
}

type calendarOwner struct {
	UserID string `json:"user_id,omitempty"`
	Team   bool   `json:"team,omitempty"`
	// Rota names the rota of a team feed ("": the first).
	Rota string `json:"rota,omitempty"`
}

// calendarTeamName is the token document of actor's team feed of rota e.
func calendarTeamName(actor string, e rotaEntry) string {
	if e.Doc == rotaDoc {
		return calendarTeamDoc + actor
	}
	return calendarTeamDoc + actor + "/" + e.Name
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func newCalendarToken() string {
	var b [32]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// validToken reports whether s looks like a token (64 lowercase hex digits),
// so that junk never reaches the store.
func validToken(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// CalendarToken returns actor's personal feed token (team false: their
// duty in every rota) or the team feed token of rota rotaName (team true:
// system and that rota's admins only), creating it on first use; reset
// replaces it, and the old token stops working.
func (a *App) CalendarToken(ctx context.Context, actor, rotaName string, team, reset bool) (string, error) {
	name, owner := calendarUserDoc+actor, calendarOwner{UserID: actor}
	if team {
		e, err := a.rotaEntry(ctx, rotaName)
		if err != nil {
			return "", err
		}
		if !a.mayEditRotaOf(ctx, actor, e) {
			return "", incident.Forbiddenf("only system admins and rota admins may see the team calendar feed of rota %s; `/incident rota calendar` gives your own", e.Name)
		}
		name, owner = calendarTeamName(actor, e), calendarOwner{UserID: actor, Team: true}
		if e.Doc != rotaDoc {
			owner.Rota = e.Name
		}
	}
	if !incident.ValidDocName(name) {
		return "", incident.Invalidf("invalid user id")
	}
	cur, ok, err := loadDoc[calendarToken](ctx, a.store, name)
	if err != nil {
		return "", err
	}
	if ok && !reset && validToken(cur.Token) {
		return cur.Token, nil
	}
	token := newCalendarToken()
	// The reverse entry first: a token is shown only once it resolves.
	// Lookups check it against the forward document, so an entry a
	// concurrent reset left behind never opens a feed.
	if _, _, err := updateDoc(ctx, a.store, calendarTokenDoc+tokenHash(token), func(v *calendarOwner, _ bool) error {
		*v = owner
		return nil
	}); err != nil {
		return "", err
	}
	var old string
	if _, _, err := updateDoc(ctx, a.store, name, func(v *calendarToken, _ bool) error {
		old = v.Token
		*v = calendarToken{Token: token, Created: a.now()}
		return nil
	}); err != nil {
		return "", err
	}
	if validToken(old) && old != token {
		if _, _, err := updateDoc(ctx, a.store, calendarTokenDoc+tokenHash(old), func(*calendarOwner, bool) error { return errDelete }); err != nil {
			a.log.Warn().Err(err).Msg("calendar: old token entry not deleted; lookups refuse it anyway")
		}
	}
	a.log.Info().Str("actor", actor).Bool("team", team).Bool("reset", reset).Msg("calendar feed token issued")
	return token, nil
}

// calendarOwnerOf resolves a token; KindNotFound if it names no feed.
func (a *App) calendarOwnerOf(ctx context.Context, token string, team bool) (calendarOwner, error) {
	notFound := incident.NotFoundf("no such calendar feed")
	if !validToken(token) {
		return calendarOwner{}, notFound
	}
	owner, ok, err := loadDoc[calendarOwner](ctx, a.store, calendarTokenDoc+tokenHash(token))
	if err != nil {
		return calendarOwner{}, err
	}
	if !ok || owner.Team != team || owner.UserID == "" {
		return calendarOwner{}, notFound
	}
	name := calendarUserDoc + owner.UserID
	var e rotaEntry
	if team {
		if e, err = a.rotaEntry(ctx, owner.Rota); err != nil {
			return calendarOwner{}, notFound // a rota that is gone
		}
		name = calendarTeamName(owner.UserID, e)
	}
	if !incident.ValidDocName(name) {
		return calendarOwner{}, notFound
	}
	cur, ok, err := loadDoc[calendarToken](ctx, a.store, name)
	if err != nil {
		return calendarOwner{}, err
	}
	if !ok || subtle.ConstantTimeCompare([]byte(tokenHash(cur.Token)), []byte(tokenHash(token))) != 1 {
		return calendarOwner{}, notFound
	}
	// Who may read it is checked now, not only when it was issued.
	if !a.dir.IsActiveUser(ctx, owner.UserID) || team && !a.mayEditRotaOf(ctx, owner.UserID, e) {
		return calendarOwner{}, notFound
	}
	return *owner, nil
}

// CalendarFeed returns the iCalendar feed a token names: a user's personal
// feed or, with team, the whole rota's. Text holds <@id> references for the
// caller to render (render may be nil). Unknown tokens give KindNotFound.
func (a *App) CalendarFeed(ctx context.Context, token string, team bool, render func(string) string) ([]byte, error) {
	owner, err := a.calendarOwnerOf(ctx, token, team)
	if err != nil {
		return nil, err
	}
	now := a.now()
	from, to := now.Add(-calendarPast), now.Add(calendarFuture)
	cal := ical.Calendar{ProdID: "-//incidentbot//Incident Bot rota//EN"}
	if team {
		v, err := a.RotaOf(ctx, owner.Rota)
		if err != nil {
			return nil, err
		}
		cal.Name = "Incident rota"
		if owner.Rota != "" {
			cal.Name = "Incident rota " + owner.Rota
		}
		cal.Events = ical.TeamEvents(v.Rota, ical.Segments(v.Rota, v.Schedule, from, to), CalendarDomain, from, to)
	} else {
		// The user's duty in every rota; events of rotas but the first
		// name it, and their UIDs are its own.
		cal.Name = "My incident duty"
		d, err := a.rotaDirectory(ctx)
		if err != nil {
			return nil, err
		}
		for i, e := range d.Rotas {
			v, err := a.RotaOf(ctx, e.Name)
			if err != nil {
				return nil, err
			}
			events := ical.PersonalEvents(v.Rota, ical.Segments(v.Rota, v.Schedule, from, to), owner.UserID, CalendarDomain, from, to)
			for j := range events {
				if i > 0 {
					events[j].UID = e.Name + "-" + events[j].UID
					events[j].Summary = "[" + e.Name + "] " + events[j].Summary
				}
			}
			cal.Events = append(cal.Events, events...)
		}
	}
	if render != nil {
		for i := range cal.Events {
			cal.Events[i].Summary = render(cal.Events[i].Summary)
		}
	}
	return ical.Marshal(cal, now), nil
}
