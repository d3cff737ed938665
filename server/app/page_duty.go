package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Paging whoever is on duty, outside any incident: "@release-manager !page
// the build server is down". The page works as an incident's does (posts
// with Acknowledge, re-notification, escalation, exactly-once claims), but
// its targets come from the rota as staffed when it was opened
// (substitutions and away periods applied), it escalates along the chain
// from the paged role, it is on no incident's timeline, and its
// notifications are counted in the stats per person (dutyPagesDoc).

// DutyPageRequest pages whoever is on duty for a role, outside any
// incident: what "@release-manager !page <message>" asks for.
type DutyPageRequest struct {
	Actor string
	Role  incident.Role
	// ChannelID is where the handle was used; the page is posted there
	// besides the target's direct message.
	ChannelID string
	// RootID is the thread of the post that asked for the page.
	RootID  string
	Message string
	// Rota names the rota whose holder is paged ("": the first).
	Rota string
}

// Duty is what a page outside any incident knows of the rota: who held
// each role when it was opened, and the severity whose timeouts it
// follows.
type Duty struct {
	Roles    map[incident.Role]string `json:"roles"`
	Severity incident.Severity        `json:"severity"`
	Role     incident.Role            `json:"role"` // the role paged
}

// dutySeverity is the severity whose escalation timeouts pages outside an
// incident follow: someone called for by name on chat, as for a major
// incident.
const dutySeverity = incident.S2

// PageOnDuty pages the rota's current holder of req.Role.
func (a *App) PageOnDuty(ctx context.Context, req DutyPageRequest) (*Page, error) {
	if a.pager == nil {
		return nil, fmt.Errorf("page: no pager configured")
	}
	if !slices.Contains(incident.Roles, req.Role) {
		return nil, incident.Invalidf("%q is not a role: page im, l1, l2, l3 or rm", req.Role)
	}
	msg, err := incident.CleanText("page message", req.Message, MaxPageMessageRunes, false)
	if err != nil {
		return nil, err
	}
	_, st, err := a.StaffingOf(ctx, req.Rota, a.now())
	if err != nil {
		return nil, fmt.Errorf("read the rota: %w", err)
	}
	roles := map[incident.Role]string{}
	for r, u := range st.Holders {
		if u != "" {
			roles[r] = u
		}
	}
	target := roles[req.Role]
	if target == "" {
		return nil, incident.Conflictf("nobody is on duty for %s now: see `/incident rota`", req.Role.Title())
	}
	duty := &Duty{Roles: roles, Severity: dutySeverity, Role: req.Role}
	inc := dutyIncident(duty, req.ChannelID)
	t := PageTarget{UserID: target, Role: req.Role, Pos: incident.ChainPos(req.Role)}
	return a.openDutyPage(ctx, inc, duty, req.Actor, msg, t)
}

// dutyIncident stands in for the incident a page outside one does not
// have: no id, always active, the rota's holders as its roles.
func dutyIncident(d *Duty, channelID string) *incident.Incident {
	return &incident.Incident{ChannelID: channelID, Roles: d.Roles, Severity: d.Severity, Status: incident.StatusOpen}
}

// pageIncident is p's incident: the stored one, or for a page outside any
// incident its stand-in.
func (a *App) pageIncident(ctx context.Context, p *Page) (*incident.Incident, error) {
	if p.Duty != nil {
		return dutyIncident(p.Duty, p.ChannelID), nil
	}
	return a.store.GetIncident(ctx, p.IncidentID)
}

// dutyPagesDoc names the month's record of the notifications of pages
// outside incidents, for the stats.
func dutyPagesDoc(month time.Time) string { return "dutypages/v1/" + month.UTC().Format("2006-01") }

// dutyPages maps each page outside an incident to the people its first
// notification and escalations went to, in order.
type dutyPages struct {
	Pages map[string][]string `json:"pages"`
}

// countDutyNotice records that notice n of duty page p went to its target;
// recording it again (a retried send) changes nothing.
func (a *App) countDutyNotice(ctx context.Context, p *Page, n Notice) error {
	if n.Kind == NoticeRenotify {
		return nil
	}
	user := p.Targets[n.Level-1].UserID
	_, _, err := updateDoc(ctx, a.store, dutyPagesDoc(p.CreatedAt), func(d *dutyPages, _ bool) error {
		if d.Pages == nil {
			d.Pages = map[string][]string{}
		}
		if len(d.Pages[p.ID]) >= n.Level {
			return errUnchanged
		}
		d.Pages[p.ID] = append(d.Pages[p.ID], user)
		return nil
	})
	return err
}

// addDutyPages adds the notifications of pages outside incidents since
// since to perPerson: one document per month.
func (a *App) addDutyPages(ctx context.Context, since, now time.Time, perPerson map[string]int) error {
	if oldest := now.AddDate(-10, 0, 0); since.Before(oldest) {
		since = oldest // bounds the reads: one per month
	}
	for m := time.Date(since.Year(), since.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(now); m = m.AddDate(0, 1, 0) {
		d, _, err := loadDoc[dutyPages](ctx, a.store, dutyPagesDoc(m))
		if err != nil {
			return fmt.Errorf("read pages outside incidents of %s: %w", m.Format("2006-01"), err)
		}
		for _, users := range d.Pages {
			for _, u := range users {
				perPerson[u]++
			}
		}
	}
	return nil
}
