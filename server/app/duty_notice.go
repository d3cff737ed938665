package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// Duty notices: when a rota's DutyNotice is on, the handoff worker tells
// each person coming on duty the week after the one in progress, by direct
// message, once: a record per rota and week (notice/v1/<rota>/<unix start
// of that week>) lists who was told, each added right after their message
// went out. A retry after a failure tells only those not yet told.

// dutyNoticeRecord lists who was told of a week.
type dutyNoticeRecord struct {
	Told map[string]time.Time `json:"told"`
}

func dutyNoticeDoc(rotaName string, week time.Time) string {
	return fmt.Sprintf("notice/v1/%s/%d", rotaName, week.Unix())
}

// noticeDuty tells the people coming on duty next week in rota name.
func (a *App) noticeDuty(ctx context.Context, name string) error {
	if a.shifts == nil {
		return nil
	}
	v, err := a.RotaOf(ctx, name)
	if incident.KindOf(err) == incident.KindNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("duty notices: read rota: %w", err)
	}
	if !v.Rota.DutyNotice || v.Rota.Anchor.IsZero() {
		return nil
	}
	now := a.now()
	_, start, next := rota.WeekOf(v.Schedule, v.Rota.Anchor, now)
	if next.IsZero() || start.IsZero() {
		return nil
	}
	_, _, after := rota.WeekOf(v.Schedule, v.Rota.Anchor, next)
	p := a.settings().Policy
	this, coming := v.Rota.Assign(v.Schedule, start, p), v.Rota.Assign(v.Schedule, next, p)
	incoming := map[string][]incident.Role{}
	var order []string
	for _, role := range incident.Roles {
		u := coming.Holders[role]
		if u == "" || this.Holders[role] == u {
			continue // nobody, or someone who keeps the role
		}
		if _, ok := incoming[u]; !ok {
			order = append(order, u)
		}
		incoming[u] = append(incoming[u], role)
	}
	if len(order) == 0 {
		return nil
	}
	doc := dutyNoticeDoc(v.Name, next)
	rec, _, err := loadDoc[dutyNoticeRecord](ctx, a.store, doc)
	if err != nil {
		return fmt.Errorf("duty notices: read %s: %w", doc, err)
	}
	for _, u := range order {
		if _, told := rec.Told[u]; told {
			continue
		}
		if err := a.shifts.Tell(ctx, u, dutyNoticeText(v, incoming[u], next, after)); err != nil {
			return fmt.Errorf("duty notice to %s: %w", u, err)
		}
		if _, _, err := updateDoc(ctx, a.store, doc, func(r *dutyNoticeRecord, _ bool) error {
			if r.Told == nil {
				r.Told = map[string]time.Time{}
			}
			r.Told[u] = now
			return nil
		}); err != nil {
			return fmt.Errorf("duty notices: record %s: %w", u, err)
		}
	}
	a.log.Info().Str("rota", v.Name).Time("week", next).Int("people", len(order)).Msg("duty notices sent")
	return nil
}

func dutyNoticeText(v *RotaView, roles []incident.Role, from, to time.Time) string {
	loc := v.Location
	if loc == nil {
		loc = time.UTC
	}
	titles := make([]string, len(roles))
	for i, r := range roles {
		titles[i] = "**" + r.Title() + "**"
	}
	until := "until the rota changes"
	toArg := "<to>"
	if !to.IsZero() {
		until = "to " + to.In(loc).Format("Mon 2006-01-02 15:04")
		toArg = to.In(loc).Format("2006-01-02 15:04")
	}
	rotaFlag := ""
	if v.Name != FirstRotaName {
		rotaFlag = " --rota " + v.Name
	}
	return fmt.Sprintf(":calendar: Your duty next week in rota `%s`, from %s %s (%s): %s.\nCannot make it? Offer it to the others: `/incident rota offer %s %s %s%s`, or ask someone to take it with `/incident rota take`.",
		v.Name, from.In(loc).Format("Mon 2006-01-02 15:04"), until, loc, strings.Join(titles, " and "),
		roles[0], from.In(loc).Format("2006-01-02 15:04"), toArg, rotaFlag)
}
