package ical

import (
	"slices"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// maxWeeks bounds the weeks a feed walks, whatever window it is asked for.
const maxWeeks = 60

// Segment is a stretch of one rota week during which one person is on
// duty for one role for one reason (rota.Duty). A duty week is one segment
// unless an override or an away period changes the holder within it.
type Segment struct {
	Role       incident.Role
	Duty       rota.Duty
	Week       time.Time // the start of the rota week the segment lies in
	Start, End time.Time
}

// Segments returns who is on duty for each role from the start of the week
// containing from to the end of the week containing to. Week boundaries
// come from the schedule's own handoff instants (each computed in the
// schedule's zone), so weeks are exact across daylight-saving changes.
// Without weeks (no anchor) only overrides appear, within [from, to).
func Segments(r *rota.Rota, s rota.Schedule, from, to time.Time) []Segment {
	if r == nil || !from.Before(to) {
		return nil
	}
	var weeks []time.Time // week starts; the last is the end of the window
	if s != nil && !r.Anchor.IsZero() {
		_, start, end := rota.WeekOf(s, r.Anchor, from)
		if start.IsZero() {
			start = from
		}
		weeks = append(weeks, start)
		for !end.IsZero() && len(weeks) <= maxWeeks {
			weeks = append(weeks, end)
			if !end.Before(to) {
				break
			}
			n := s.Next(end)
			if n.IsZero() || !n.After(end) {
				break
			}
			end = n
		}
		if len(weeks) == 1 { // the schedule has no later handoff
			weeks = append(weeks, to)
		}
		from, to = weeks[0], weeks[len(weeks)-1]
	} else {
		weeks = []time.Time{from, to}
	}
	cuts := slices.Clone(weeks)
	add := func(ts ...time.Time) {
		for _, t := range ts {
			if t.After(from) && t.Before(to) {
				cuts = append(cuts, t)
			}
		}
	}
	for _, o := range r.Overrides {
		add(o.From, o.To)
	}
	for _, a := range r.Away {
		add(a.From, a.To)
	}
	slices.SortFunc(cuts, func(a, b time.Time) int { return a.Compare(b) })
	cuts = slices.CompactFunc(cuts, func(a, b time.Time) bool { return a.Equal(b) })

	var out []Segment
	last := map[incident.Role]int{} // index in out of each role's latest segment
	w := 0
	for i := 0; i+1 < len(cuts); i++ {
		at, until := cuts[i], cuts[i+1]
		for w+1 < len(weeks) && !weeks[w+1].After(at) {
			w++
		}
		duties := r.OnDuty(s, at)
		for _, role := range incident.Roles {
			d, ok := duties[role]
			if !ok {
				continue
			}
			if j, seen := last[role]; seen {
				p := &out[j]
				if p.Duty == d && p.End.Equal(at) && p.Week.Equal(weeks[w]) {
					p.End = until
					continue
				}
			}
			last[role] = len(out)
			out = append(out, Segment{Role: role, Duty: d, Week: weeks[w], Start: at, End: until})
		}
	}
	return out
}

// Kinds of events, part of their UIDs: never change them, or calendar apps
// see every event as new.
const (
	kindDuty = "duty"
	kindAway = "away"
	kindTeam = "team"
)

func summary(seg Segment) string {
	s := seg.Role.Title()
	switch seg.Duty.Source {
	case rota.SourceOverride:
		if seg.Duty.For != "" {
			s += " (taken from " + rota.UserRef(seg.Duty.For) + ")"
			break
		}
		s += " (override)"
	case rota.SourceSwap:
		s += " (swap with " + rota.UserRef(seg.Duty.For) + ")"
	case rota.SourceCover:
		s += " (covering " + rota.UserRef(seg.Duty.For) + ")"
	}
	return s
}

// PersonalEvents is userID's feed: their duty weeks per role (and parts of
// weeks from overrides and covers) and their away periods that overlap the
// segments' window. Text holds <@id> user references for the caller to
// render. domain ends every UID.
func PersonalEvents(r *rota.Rota, segs []Segment, userID, domain string, from, to time.Time) []Event {
	var out []Event
	for _, seg := range segs {
		if seg.Duty.UserID != userID {
			continue
		}
		out = append(out, Event{
			UID:        UID(domain, kindDuty, string(seg.Duty.Source), string(seg.Role), userID, Stamp(seg.Start)),
			Summary:    "On duty: " + summary(seg),
			Categories: []string{"On duty", seg.Role.Title()},
			Start:      seg.Start, End: seg.End,
		})
	}
	if r != nil {
		for _, a := range r.Away {
			if a.UserID == userID && a.To.After(from) && a.From.Before(to) {
				out = append(out, Event{
					UID:        UID(domain, kindAway, userID, Stamp(a.From)),
					Summary:    "Away",
					Categories: []string{"Away"},
					Start:      a.From, End: a.To,
				})
			}
		}
	}
	return out
}

// TeamEvents is the whole rota's feed: every role's holder per week (and
// part of a week), and everyone's away periods in the window.
func TeamEvents(r *rota.Rota, segs []Segment, domain string, from, to time.Time) []Event {
	out := make([]Event, 0, len(segs))
	for _, seg := range segs {
		out = append(out, Event{
			UID:        UID(domain, kindTeam, string(seg.Duty.Source), string(seg.Role), seg.Duty.UserID, Stamp(seg.Start)),
			Summary:    summary(seg) + ": " + rota.UserRef(seg.Duty.UserID),
			Categories: []string{"On duty", seg.Role.Title()},
			Start:      seg.Start, End: seg.End,
		})
	}
	if r != nil {
		for _, a := range r.Away {
			if a.To.After(from) && a.From.Before(to) {
				out = append(out, Event{
					UID:        UID(domain, kindTeam, kindAway, a.UserID, Stamp(a.From)),
					Summary:    "Away: " + rota.UserRef(a.UserID),
					Categories: []string{"Away"},
					Start:      a.From, End: a.To,
				})
			}
		}
	}
	return out
}
