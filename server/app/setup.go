package app

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// The rota parts of /incident setup: the rota channel and a weekly handoff
// chosen by day, time and zone, then the members per role picked one by
// one. Only system admins run setup (it also saves the plugin's settings,
// which the adapter does).

// SetupPicks is how many members per role the setup dialog offers.
const SetupPicks = 3

// Setup is what the setup dialogs show as the current state of a rota.
type Setup struct {
	Rota string
	// Broadcast and Postmortem are the settings' channels ("": none).
	Broadcast, Postmortem string
	RotaChannel           string
	// Day, Clock ("09:00") and Zone read the rota's handoff when it is a
	// weekly one; Custom is its spec when it is not (the dialog then
	// offers to keep it).
	Day    time.Weekday
	Clock  string
	Zone   string
	Custom string
	// Members are each role's members in rotation order.
	Members map[incident.Role][]string
}

// weeklySpec reads "CRON_TZ=<zone> <m> <h> * * <DAY>".
var weeklySpec = regexp.MustCompile(`^CRON_TZ=(\S+) (\d{1,2}) (\d{1,2}) \* \* (SUN|MON|TUE|WED|THU|FRI|SAT)$`)

var cronDays = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

// WeeklyHandoff is the handoff spec of a weekly handoff on day at clock
// ("09:00") in zone; it checks the three.
func (a *App) WeeklyHandoff(day time.Weekday, clock, zone string) (string, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(clock))
	if err != nil {
		return "", incident.Invalidf("the handoff time is a time of day such as 09:00")
	}
	zone = strings.TrimSpace(zone)
	if zone == "" {
		zone = "UTC"
	}
	if _, err := time.LoadLocation(zone); err != nil || strings.ContainsAny(zone, " \t") {
		return "", incident.Invalidf("%q is not a time zone; use a name such as Europe/Berlin, America/New_York or UTC", zone)
	}
	if day < time.Sunday || day > time.Saturday {
		return "", incident.Invalidf("choose the day of the handoff")
	}
	spec := fmt.Sprintf("CRON_TZ=%s %d %d * * %s", zone, t.Minute(), t.Hour(), cronDays[day])
	if _, _, err := a.parse(spec); err != nil {
		return "", err
	}
	return spec, nil
}

// SetupOf returns the setup state of rota name ("": the first) for actor,
// a system admin.
func (a *App) SetupOf(ctx context.Context, actor, name string) (*Setup, error) {
	if !a.dir.IsSystemAdmin(ctx, actor) {
		return nil, incident.Forbiddenf("only system admins run the setup; a rota admin edits the rota with `/incident rota`")
	}
	v, err := a.RotaOf(ctx, name)
	if err != nil {
		return nil, err
	}
	set := a.settings()
	s := &Setup{Rota: v.Name, Broadcast: set.BroadcastChannelID, Postmortem: set.PostmortemChannelID, RotaChannel: v.Rota.ChannelID, Day: time.Monday, Clock: "09:00", Zone: "UTC", Members: v.Rota.Members}
	spec := v.Rota.Handoff
	if spec == "" {
		spec = DefaultHandoff
	}
	if m := weeklySpec.FindStringSubmatch(spec); m != nil {
		mm, _ := strconv.Atoi(m[2])
		hh, _ := strconv.Atoi(m[3])
		s.Zone, s.Clock, s.Day = m[1], fmt.Sprintf("%02d:%02d", hh, mm), time.Weekday(slices.Index(cronDays, m[4]))
	} else {
		s.Custom = spec
	}
	return s, nil
}

// SetupRota sets rota name's channel and, unless spec is "" or the one in
// force, its handoff (whoever is on duty stays on duty until it).
func (a *App) SetupRota(ctx context.Context, actor, name, channelID, spec string) error {
	if !a.dir.IsSystemAdmin(ctx, actor) {
		return incident.Forbiddenf("only system admins run the setup")
	}
	next := spec
	sched, _, err := a.parse(orDefault(spec))
	if err != nil {
		return err
	}
	_, _, _, err = a.EditRotaOf(ctx, actor, name, func(v *RotaView, now time.Time) ([]string, error) {
		v.Rota.ChannelID = channelID
		v.Note = "/incident setup: rota channel and handoff " + orDefault(next)
		if next == "" || next == v.Rota.Handoff {
			return nil, nil
		}
		_, err := v.Rota.SetHandoff(next, v.Schedule, sched, now)
		return nil, err
	})
	return err
}

func orDefault(spec string) string {
	if spec == "" {
		return DefaultHandoff
	}
	return spec
}

// SetupMembers puts the people picked for each role first in its
// rotation, in the order picked, the first on duty this week; members
// after the SetupPicks-th stay after them. A role nobody was picked for keeps its members. Every
// person picked must be an active user.
func (a *App) SetupMembers(ctx context.Context, actor, name string, picks map[incident.Role][]string) (*RotaView, []string, error) {
	if !a.dir.IsSystemAdmin(ctx, actor) {
		return nil, nil, incident.Forbiddenf("only system admins run the setup")
	}
	for _, role := range incident.Roles {
		for _, u := range picks[role] {
			if !a.dir.IsActiveUser(ctx, u) {
				return nil, nil, incident.Invalidf("%s cannot be on the rota: the account does not exist or is deactivated", rota.UserRef(u))
			}
		}
	}
	v, warnings, _, err := a.EditRotaOf(ctx, actor, name, func(v *RotaView, now time.Time) ([]string, error) {
		v.Note = "/incident setup: members"
		for _, role := range incident.Roles {
			picked := compactIDs(picks[role])
			if len(picked) == 0 {
				continue
			}
			old := v.Rota.Members[role]
			if len(old) > SetupPicks {
				for _, u := range old[SetupPicks:] {
					if !slices.Contains(picked, u) {
						picked = append(picked, u)
					}
				}
			}
			if _, err := v.Rota.SetMembers(role, picked, v.Schedule, now); err != nil {
				return nil, err
			}
			v.Rota.RestartRotation(role, v.Schedule, now)
		}
		return nil, nil
	})
	return v, warnings, err
}

// compactIDs drops empty and repeated ids, keeping the first of each.
func compactIDs(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// StartSetupTest starts the setup's test incident in team, staffed by rota
// name, at the least severe severity that rota pages for (its policy, else
// the settings), so that the first line is paged at once by an incident
// nobody takes for a major one.
func (a *App) StartSetupTest(ctx context.Context, actor, team, name string) (*incident.Incident, error) {
	if !a.dir.IsSystemAdmin(ctx, actor) {
		return nil, incident.Forbiddenf("only system admins run the setup")
	}
	v, err := a.RotaOf(ctx, name)
	if err != nil {
		return nil, err
	}
	sev := incident.Severity(0)
	for _, s := range incident.Severities {
		d, ok := v.Rota.Escalation.Timeouts[s]
		if !ok {
			d = a.settings().AckTimeout[s]
		}
		if d > 0 {
			sev = s // the list goes from most to least severe: the last that pages
		}
	}
	if sev == 0 {
		return nil, incident.Invalidf("rota %s pages for no severity (the escalation timeouts are all off), so a test incident would page nobody; set them in the settings or with `/incident rota escalation timeouts`", v.Name)
	}
	return a.Start(ctx, StartRequest{TeamID: team, ActorID: actor, Severity: sev, Rota: v.Name,
		Title:   "Test incident from the setup",
		Summary: "Started by /incident setup to check that paging works. Acknowledge the page, then resolve this incident with `/incident resolve`."})
}
