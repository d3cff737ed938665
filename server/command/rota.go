package command

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// rotaVerb is one `/incident rota <verb>`: the sub-table drives dispatch,
// autocomplete and help for the rota like the main table does.
type rotaVerb struct {
	name, hint, help string
	args             func(*model.AutocompleteData)
	run              func(ctx context.Context, h *Handler, c Call, args string) (Reply, error)
}

// WhenFormat documents how commands take dates and times.
const WhenFormat = "`2026-11-23` or `2026-11-23 14:30` in the rota's time zone, or RFC 3339"

var rotaVerbs []*rotaVerb

func init() {
	rotaVerbs = []*rotaVerb{
		{"show", "[date]", "Who is on duty this week and next, or on a date (" + WhenFormat + ").", nil, rotaShow},
		{"list", "", "The rotas, and the teams whose incidents each staffs.", nil, rotaList},
		{"create", "<name> [~team ...]", "Make a rota (system and rota admins); it staffs the incidents of the teams named. Then `--rota <name>` after any rota command edits it.", nil, rotaCreate},
		{"set", "<role> @a @b ...", "Set a role's members, in rotation order.", roleArg, rotaSet},
		{"add", "<role> @user", "Add a member at the end of a role's rotation.", roleArg, rotaAdd},
		{"remove", "<role> @user", "Remove a member from a role's rotation.", roleArg, rotaRemove},
		{"override", "<role> @user <from> <to> | <role> @user off", "Put someone on a role for a period; off ends their overrides of the role.", roleArg, rotaOverride},
		{"swap", "<role> @a @b <week>", "@a's week (the week containing the date) goes to @b, and @a takes @b's next week.", roleArg, rotaSwap},
		{"away", "@user <from> <to> | @user off", "Mark someone unavailable; the next member of each of their rotas covers. off ends their away periods.", nil, rotaAway},
		{"take", "<role> <from> <to>", "Take a shift of a role you are in the rotation of, from whoever is on duty then (with a rota admin's approval when the rota asks for it). Dates: " + WhenFormat + ".", roleArg, rotaTake},
		{"offer", "<role> <from> <to>", "Offer your shift in the rota channel; another member takes it with a button.", roleArg, rotaOffer},
		{"history", "", "What changed on the rota, and the shift requests waiting.", nil, rotaHistory},
		{"approval", "on|off", "Whether taking a shift needs a rota admin's approval (admins).", onOffArg, rotaApproval},
		{"notices", "on|off", "Whether the people on duty the week after each handoff are told by direct message (admins).", onOffArg, rotaNotices},
		{"admins", "@a @b ... | none", "Name the rota's own admins, who edit it (system admins and the settings' rota admins edit every rota).", nil, rotaAdmins},
		{"escalation", "[timeouts S1=5m S2=10m ... | repeat <n> | last all|none|@a @b | outside now|after 5m|off]", "The rota's escalation policy: how long a page waits at each level per severity (off: no paging), how many times the chain runs again when nobody answers, who is paged last, one after another, and when a page also goes by email and webhook to who registered them (`/incident notify`) (admins). No argument shows it.", nil, rotaEscalation},
		{"handoff", "\"<cron spec>\"", "When the week changes, e.g. \"CRON_TZ=Europe/Berlin 0 9 * * MON\".", nil, rotaHandoff},
		{"channel", "", "Page and announce the rota in this channel.", nil, rotaChannel},
		{"calendar", "[team] [reset]", "Your secret calendar feed URL (iCalendar) of your duty weeks and away periods; `team` for the whole rota (rota admins); `reset` replaces the URL.", calendarArgs, rotaCalendar},
	}
}

func rotaArgs(a *model.AutocompleteData) {
	for _, v := range rotaVerbs {
		sub := model.NewAutocompleteData(v.name, v.hint, v.help)
		if v.args != nil {
			v.args(sub)
		}
		a.AddCommand(sub)
	}
}

func onOffArg(a *model.AutocompleteData) {
	a.AddStaticListArgument("", true, []model.AutocompleteListItem{{Item: "on"}, {Item: "off"}})
}

func roleArg(a *model.AutocompleteData) {
	items := make([]model.AutocompleteListItem, 0, len(incident.Roles))
	for _, r := range incident.Roles {
		items = append(items, model.AutocompleteListItem{Item: string(r), HelpText: r.Title()})
	}
	a.AddStaticListArgument("Role", true, items)
}

func rotaHelp() string {
	var b strings.Builder
	for _, v := range rotaVerbs {
		fmt.Fprintf(&b, "\n  - `/incident rota %s` %s", strings.TrimSpace(v.name+" "+v.hint), v.help)
	}
	return b.String()
}

func runRota(ctx context.Context, h *Handler, c Call) (Reply, error) {
	rest, name, err := takeRotaFlag(c.Rest)
	if err != nil {
		return Reply{}, err
	}
	if name == "" {
		name = h.App.TeamRota(ctx, c.TeamID) // the rota of the channel's team, else the first
	}
	c.Rest, c.Rota = rest, name
	verb, args, _ := cutSpace(c.Rest)
	if verb == "" {
		return rotaShow(ctx, h, c, "")
	}
	for _, v := range rotaVerbs {
		if v.name == strings.ToLower(verb) {
			r, err := v.run(ctx, h, c, args)
			if incident.KindOf(err) == incident.KindInvalid {
				err = &incident.Error{Kind: incident.KindInvalid, Msg: incident.UserMessage(err) + fmt.Sprintf("\nUsage: `/incident rota %s %s`", v.name, v.hint)}
			}
			return r, err
		}
	}
	names := make([]string, len(rotaVerbs))
	for i, v := range rotaVerbs {
		names[i] = v.name
	}
	return Reply{}, incident.Invalidf("unknown rota command `%s`: use %s", verb, strings.Join(names, ", "))
}

func rotaShow(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	v, err := h.App.RotaOf(ctx, c.Rota)
	if err != nil {
		return Reply{}, err
	}
	now := time.Now()
	if strings.TrimSpace(args) != "" {
		at, err := rota.ParseWhen(args, v.Location)
		if err != nil {
			return Reply{}, err
		}
		_, st, err := h.App.StaffingOf(ctx, c.Rota, at)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: h.Render(h.staffingTable(v, "On "+at.In(v.Location).Format("Mon 2006-01-02 15:04 MST"), st))}, nil
	}
	_, start, end := rota.WeekOf(v.Schedule, v.Rota.Anchor, now)
	_, this, err := h.App.StaffingOf(ctx, c.Rota, now)
	if err != nil {
		return Reply{}, err
	}
	out := h.staffingTable(v, "This week (since "+start.In(v.Location).Format("Mon 2006-01-02 15:04 MST")+")", this)
	if !end.IsZero() {
		_, next, err := h.App.StaffingOf(ctx, c.Rota, end)
		if err != nil {
			return Reply{}, err
		}
		out += "\n" + h.staffingTable(v, "Next week (from "+end.In(v.Location).Format("Mon 2006-01-02 15:04 MST")+")", next)
	}
	ch := "not set: run `/incident rota channel` in the channel to page"
	if v.Rota.ChannelID != "" {
		ch = "~" + h.ChannelName(v.Rota.ChannelID)
	}
	out += fmt.Sprintf("\nRota `%s` · Handoff: `%s` · Rota channel: %s\nEscalation: %s", v.Name, v.Rota.Handoff, ch, v.Rota.Escalation.Describe())
	return Reply{Text: h.Render(out)}, nil
}

func rotaAdmins(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	var ids []string
	if f := strings.Fields(args); len(f) == 0 {
		return Reply{}, incident.Invalidf("name the admins, or none")
	} else if !(len(f) == 1 && strings.EqualFold(f[0], "none")) {
		var err error
		if ids, err = h.users(f); err != nil {
			return Reply{}, err
		}
	}
	if err := h.App.SetRotaAdmins(ctx, c.UserID, c.Rota, ids); err != nil {
		return Reply{}, err
	}
	if len(ids) == 0 {
		return Reply{Text: "The rota has no admins of its own now."}, nil
	}
	refs := make([]string, len(ids))
	for i, id := range ids {
		refs[i] = rota.UserRef(id)
	}
	return Reply{Text: h.Render("Rota admins: " + strings.Join(refs, " ") + ".")}, nil
}

func rotaEscalation(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	what, rest, _ := cutSpace(strings.TrimSpace(args))
	var edit func(*rota.Rota) error
	switch strings.ToLower(what) {
	case "":
		v, err := h.App.RotaOf(ctx, c.Rota)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: h.Render(fmt.Sprintf("Escalation of rota `%s`: %s.", v.Name, v.Rota.Escalation.Describe()))}, nil
	case "timeouts", "timeout", "waits":
		ts, err := rota.ParseTimeouts(rest, h.App.EscalationFloor())
		if err != nil {
			return Reply{}, err
		}
		edit = func(r *rota.Rota) error {
			if r.Escalation.Timeouts == nil {
				r.Escalation.Timeouts = map[incident.Severity]time.Duration{}
			}
			maps.Copy(r.Escalation.Timeouts, ts)
			return nil
		}
	case "repeat":
		n, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || n < 0 || n > rota.MaxRepeat {
			return Reply{}, incident.Invalidf("repeat takes how many more times the chain runs: 0 to %d", rota.MaxRepeat)
		}
		edit = func(r *rota.Rota) error { r.Escalation.Repeat = n; return nil }
	case "last":
		switch strings.ToLower(strings.TrimSpace(rest)) {
		case "all":
			edit = func(r *rota.Rota) error { r.Escalation.Last, r.Escalation.People = rota.LastAll, nil; return nil }
		case "none", "off", "":
			edit = func(r *rota.Rota) error { r.Escalation.Last, r.Escalation.People = "", nil; return nil }
		default:
			ids, err := h.users(strings.Fields(rest))
			if err != nil {
				return Reply{}, err
			}
			edit = func(r *rota.Rota) error { r.Escalation.Last, r.Escalation.People = rota.LastPeople, ids; return nil }
		}
	case "outside":
		f := strings.Fields(strings.ToLower(rest))
		switch {
		case len(f) == 1 && (f[0] == "now" || f[0] == "on"):
			edit = func(r *rota.Rota) error { r.Escalation.OutsideOff, r.Escalation.OutsideAfter = false, 0; return nil }
		case len(f) == 1 && f[0] == "off":
			edit = func(r *rota.Rota) error { r.Escalation.OutsideOff, r.Escalation.OutsideAfter = true, 0; return nil }
		case len(f) == 2 && f[0] == "after":
			d, err := time.ParseDuration(f[1])
			if err != nil || d <= 0 || d > 24*time.Hour {
				return Reply{}, incident.Invalidf("after takes a wait such as 5m (at most 24h)")
			}
			edit = func(r *rota.Rota) error { r.Escalation.OutsideOff, r.Escalation.OutsideAfter = false, d; return nil }
		default:
			return Reply{}, incident.Invalidf("outside takes now, after <wait> or off")
		}
	default:
		return Reply{}, incident.Invalidf("escalation takes timeouts, repeat, last or outside")
	}
	var desc string
	_, _, _, err := h.App.EditRotaOf(ctx, c.UserID, c.Rota, noted(c, func(v *app.RotaView, _ time.Time) ([]string, error) {
		if err := edit(v.Rota); err != nil {
			return nil, err
		}
		desc = v.Rota.Escalation.Describe()
		return nil, nil
	}))
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: h.Render("Escalation set: " + desc + ".")}, nil
}

func rotaList(ctx context.Context, h *Handler, c Call, _ string) (Reply, error) {
	list, err := h.App.Rotas(ctx)
	if err != nil {
		return Reply{}, err
	}
	var b strings.Builder
	b.WriteString("#### Rotas\n| Rota | Staffs the incidents of | Admins of its own |\n|---|---|---|\n")
	for _, r := range list {
		var teams []string
		for _, t := range r.Teams {
			if h.TeamName != nil {
				t = h.TeamName(t)
			}
			teams = append(teams, "~"+t)
		}
		staffs := strings.Join(teams, " ")
		if r.First {
			staffs = strings.TrimSpace(staffs + " every other team")
		}
		var admins []string
		for _, u := range r.Admins {
			admins = append(admins, rota.UserRef(u))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Name, staffs, strings.Join(admins, " "))
	}
	return Reply{Text: h.Render(b.String())}, nil
}

func rotaCreate(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	fields := strings.Fields(args)
	if len(fields) == 0 {
		return Reply{}, incident.Invalidf("name the rota")
	}
	var teams []string
	for _, f := range fields[1:] {
		if h.TeamID == nil {
			return Reply{}, incident.Invalidf("teams cannot be looked up here")
		}
		id, ok := h.TeamID(strings.TrimPrefix(strings.ToLower(f), "~"))
		if !ok {
			return Reply{}, incident.Invalidf("there is no team %s", mention.Inline(f))
		}
		teams = append(teams, id)
	}
	if err := h.App.CreateRota(ctx, c.UserID, fields[0], teams); err != nil {
		return Reply{}, err
	}
	name := strings.ToLower(fields[0])
	return Reply{Text: fmt.Sprintf("Rota `%s` made. Fill it with `/incident rota set <role> @a @b --rota %s`, and set its channel with `/incident rota channel --rota %s`.", name, name, name)}, nil
}

func (h *Handler) staffingTable(v *app.RotaView, title string, st rota.Staffing) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### %s\n| Role | Rota | Members | Incident staffing |\n|---|---|---|---|\n", title)
	for _, r := range incident.Roles {
		duty := "-"
		if d, ok := st.Duties[r]; ok {
			duty = rota.UserRef(d.UserID)
			if d.Source != rota.SourceRota {
				duty += " (" + string(d.Source) + ")"
			}
		}
		holder := "**open**"
		if u := st.Holders[r]; u != "" {
			holder = rota.UserRef(u)
		}
		var members []string
		for _, m := range v.Rota.Members[r] {
			members = append(members, rota.UserRef(m))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.Title(), duty, strings.Join(members, " "), holder)
	}
	for _, s := range st.Substitutions {
		b.WriteString("- " + s.String() + "\n")
	}
	return b.String()
}

// users resolves every @name in tokens.
func (h *Handler) users(tokens []string) ([]string, error) {
	ids := make([]string, 0, len(tokens))
	for _, t := range tokens {
		id, err := h.user(t)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// editRota runs an edit and reports it with its warnings and the
// substitutions the rota now needs this week and next.
func (h *Handler) editRota(ctx context.Context, c Call, done string, edit app.RotaEdit) (Reply, error) {
	_, warnings, conflicts, err := h.App.EditRotaOf(ctx, c.UserID, c.Rota, noted(c, edit))
	if err != nil {
		return Reply{}, err
	}
	out := done
	for _, w := range warnings {
		out += "\n:warning: " + w
	}
	if len(conflicts) > 0 {
		out += "\n:warning: Accepted, but one person is on duty for two roles; incidents will substitute:"
		for _, s := range conflicts {
			out += "\n- " + s.String()
		}
	}
	return Reply{Text: h.Render(out)}, nil
}

// noted has edit record the command that made it in the rota's history,
// as typed (people as their @usernames then).
func noted(c Call, edit app.RotaEdit) app.RotaEdit {
	return func(v *app.RotaView, now time.Time) ([]string, error) {
		w, err := edit(v, now)
		if err == nil {
			v.Note = "/incident rota " + mention.Inline(c.Rest)
		}
		return w, err
	}
}

func droppedSwaps(dropped []rota.Swap) []string {
	var w []string
	for _, sw := range dropped {
		w = append(w, fmt.Sprintf("the %s swap between %s and %s no longer fits and was dropped", sw.Role.Title(), rota.UserRef(sw.A), rota.UserRef(sw.B)))
	}
	return w
}

func rotaSet(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	f := strings.Fields(args)
	if len(f) < 2 {
		return Reply{}, incident.Invalidf("give a role and its members in order, e.g. `l1 @alice @bob`")
	}
	role, err := incident.ParseRole(f[0])
	if err != nil {
		return Reply{}, err
	}
	ids, err := h.users(f[1:])
	if err != nil {
		return Reply{}, err
	}
	return h.editRota(ctx, c, fmt.Sprintf("%s rota set: %d members.", role.Title(), len(ids)), func(v *app.RotaView, now time.Time) ([]string, error) {
		dropped, err := v.Rota.SetMembers(role, ids, v.Schedule, now)
		return droppedSwaps(dropped), err
	})
}

func rotaAdd(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	role, id, err := h.roleAndUser(args)
	if err != nil {
		return Reply{}, err
	}
	return h.editRota(ctx, c, fmt.Sprintf("%s added to the %s rota.", rota.UserRef(id), role.Title()), func(v *app.RotaView, now time.Time) ([]string, error) {
		dropped, err := v.Rota.AddMember(role, id, v.Schedule, now)
		return droppedSwaps(dropped), err
	})
}

func rotaRemove(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	role, id, err := h.roleAndUser(args)
	if err != nil {
		return Reply{}, err
	}
	return h.editRota(ctx, c, fmt.Sprintf("%s removed from the %s rota.", rota.UserRef(id), role.Title()), func(v *app.RotaView, now time.Time) ([]string, error) {
		dropped, err := v.Rota.RemoveMember(role, id, v.Schedule, now)
		return droppedSwaps(dropped), err
	})
}

// period reads "<from> <to>", each a date or a date and a time.
func period(tokens []string, loc *time.Location) (from, to time.Time, err error) {
	var a, b string
	switch {
	case len(tokens) == 2:
		a, b = tokens[0], tokens[1]
	case len(tokens) == 4:
		a, b = tokens[0]+" "+tokens[1], tokens[2]+" "+tokens[3]
	case len(tokens) == 3 && strings.Contains(tokens[1], ":"):
		a, b = tokens[0]+" "+tokens[1], tokens[2]
	case len(tokens) == 3:
		a, b = tokens[0], tokens[1]+" "+tokens[2]
	default:
		return from, to, incident.Invalidf("give a start and an end: %s", WhenFormat)
	}
	if from, err = rota.ParseWhen(a, loc); err != nil {
		return
	}
	to, err = rota.ParseWhen(b, loc)
	return
}

func rotaOverride(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	f := strings.Fields(args)
	if len(f) == 3 && strings.EqualFold(f[2], "off") {
		role, id, err := h.roleAndUser(f[0] + " " + f[1])
		if err != nil {
			return Reply{}, err
		}
		return h.editRota(ctx, c, fmt.Sprintf("%s's overrides of %s are ended.", rota.UserRef(id), role.Title()), func(v *app.RotaView, now time.Time) ([]string, error) {
			if v.Rota.EndOverrides(role, id, now) == 0 {
				return nil, incident.NotFoundf("%s has no override of %s in force or to come", rota.UserRef(id), role.Title())
			}
			return nil, nil
		})
	}
	if len(f) < 4 {
		return Reply{}, incident.Invalidf("give a role, a person, a start and an end")
	}
	role, id, err := h.roleAndUser(f[0] + " " + f[1])
	if err != nil {
		return Reply{}, err
	}
	return h.editRota(ctx, c, fmt.Sprintf("%s covers %s for that period.", rota.UserRef(id), role.Title()), func(v *app.RotaView, _ time.Time) ([]string, error) {
		from, to, err := period(f[2:], v.Location)
		if err != nil {
			return nil, err
		}
		ws, err := v.Rota.AddOverride(rota.Override{Role: role, UserID: id, From: from, To: to, By: c.UserID})
		return warningTexts(ws), err
	})
}

func warningTexts(ws []rota.Warning) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

func rotaSwap(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	f := strings.Fields(args)
	if len(f) != 4 {
		return Reply{}, incident.Invalidf("give a role, two people and a date in the first one's week")
	}
	role, err := incident.ParseRole(f[0])
	if err != nil {
		return Reply{}, err
	}
	ids, err := h.users(f[1:3])
	if err != nil {
		return Reply{}, err
	}
	return h.editRota(ctx, c, fmt.Sprintf("%s swap: %s and %s exchange weeks.", role.Title(), rota.UserRef(ids[0]), rota.UserRef(ids[1])), func(v *app.RotaView, now time.Time) ([]string, error) {
		day, err := rota.ParseWhen(f[3], v.Location)
		if err != nil {
			return nil, err
		}
		_, week, _ := rota.WeekOf(v.Schedule, v.Rota.Anchor, day)
		return nil, v.Rota.AddSwap(rota.Swap{Role: role, A: ids[0], B: ids[1], Week: week, By: c.UserID}, v.Schedule, now)
	})
}

func rotaAway(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	f := strings.Fields(args)
	if len(f) == 2 && strings.EqualFold(f[1], "off") {
		id, err := h.user(f[0])
		if err != nil {
			return Reply{}, err
		}
		return h.editRota(ctx, c, fmt.Sprintf("%s is no longer away.", rota.UserRef(id)), func(v *app.RotaView, now time.Time) ([]string, error) {
			if v.Rota.EndAway(id, now) == 0 {
				return nil, incident.NotFoundf("%s has no away period in force or to come", rota.UserRef(id))
			}
			return nil, nil
		})
	}
	if len(f) < 3 {
		return Reply{}, incident.Invalidf("give a person, a start and an end")
	}
	id, err := h.user(f[0])
	if err != nil {
		return Reply{}, err
	}
	return h.editRota(ctx, c, fmt.Sprintf("%s is away for that period; their rotas' next members cover.", rota.UserRef(id)), func(v *app.RotaView, _ time.Time) ([]string, error) {
		from, to, err := period(f[1:], v.Location)
		if err != nil {
			return nil, err
		}
		ws, err := v.Rota.AddAway(rota.Away{UserID: id, From: from, To: to, By: c.UserID})
		return warningTexts(ws), err
	})
}

func rotaHandoff(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	spec := strings.Trim(strings.TrimSpace(args), "\"'“”")
	next, _, err := h.App.ParseHandoff(spec)
	if err != nil {
		return Reply{}, err
	}
	return h.editRota(ctx, c, fmt.Sprintf("Handoff set to `%s`; whoever is on duty now stays on duty until the next handoff.", spec), func(v *app.RotaView, now time.Time) ([]string, error) {
		dropped, err := v.Rota.SetHandoff(spec, v.Schedule, next, now)
		return droppedSwaps(dropped), err
	})
}

func rotaChannel(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	if strings.TrimSpace(args) != "" {
		return Reply{}, incident.Invalidf("run it in the channel the rota should use; it takes no arguments")
	}
	return h.editRota(ctx, c, "This channel is now the rota channel: handoffs are announced and pages posted here.", func(v *app.RotaView, _ time.Time) ([]string, error) {
		v.Rota.ChannelID = c.ChannelID
		return nil, nil
	})
}

func calendarArgs(a *model.AutocompleteData) {
	a.AddStaticListArgument("Feed", false, []model.AutocompleteListItem{
		{Item: "reset", HelpText: "Replace your feed URL; the old one stops working"},
		{Item: "team", HelpText: "The whole rota's feed (rota admins)"},
		{Item: "team reset", HelpText: "Replace the team feed URL"},
	})
}

// rotaCalendar shows (or with reset replaces) the caller's calendar feed
// URL, or the team feed's. Replies are ephemeral: the URL is a secret.
func rotaCalendar(ctx context.Context, h *Handler, c Call, args string) (Reply, error) {
	team, reset := false, false
	for _, f := range strings.Fields(strings.ToLower(args)) {
		switch f {
		case "team":
			team = true
		case "reset":
			reset = true
		default:
			return Reply{}, incident.Invalidf("unknown option `%s`: use `team` and/or `reset`", f)
		}
	}
	token, err := h.App.CalendarToken(ctx, c.UserID, c.Rota, team, reset)
	if err != nil {
		return Reply{}, err
	}
	url := token
	if h.CalendarURL != nil {
		url = h.CalendarURL(c.SiteURL, token, team)
	}
	what := "Your calendar feed (your duty weeks per role, overrides and away periods)"
	if team {
		what = "The team calendar feed (every role's holder per week and away periods)"
	}
	out := fmt.Sprintf("%s:\n%s\n\nSubscribe to it by URL in your calendar app. The URL is a secret: anyone with it can read the feed.", what, url)
	if reset {
		out += " The old URL no longer works."
	} else {
		out += fmt.Sprintf(" If it leaked, `/incident rota calendar %s` replaces it.", strings.TrimSpace(map[bool]string{true: "team ", false: ""}[team]+"reset"))
	}
	return Reply{Text: out}, nil
}
