package command

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// /incident maintenance: planned work during which matching alerts open
// nothing (see app/maintenance.go).

func maintenanceArgs(a *model.AutocompleteData) {
	a.AddCommand(model.NewAutocompleteData("add", "<rota=name | condition> <from|now> <to|+2h> [reason]",
		"Plan a window: the alerts a rota would be paged for, or those matching a condition (alertname=DiskFull, label:service=web), open no incident until it ends (admins)."))
	a.AddCommand(model.NewAutocompleteData("list", "", "The windows, and how many alerts each held."))
	a.AddCommand(model.NewAutocompleteData("end", "<id>", "End a window now: its alerts still firing open their incidents (admins)."))
}

func runMaintenance(ctx context.Context, h *Handler, c Call) (Reply, error) {
	verb, rest, _ := cutSpace(strings.TrimSpace(c.Rest))
	switch strings.ToLower(verb) {
	case "", "list":
		return maintenanceList(ctx, h)
	case "add":
		return maintenanceAdd(ctx, h, c, rest)
	case "end":
		id := strings.TrimPrefix(strings.TrimSpace(rest), "#")
		if err := h.App.EndMaintenance(ctx, c.UserID, id); err != nil {
			return Reply{}, err
		}
		return Reply{Text: "Maintenance window " + id + " ended: its alerts still firing open their incidents now."}, nil
	}
	return Reply{}, incident.Invalidf("unknown maintenance command `%s`: use add, list or end", mention.Inline(verb))
}

// whenArg reads one instant from the front of f: now, +<duration> (from
// base), a date, or a date and a time; it returns the tokens left.
func whenArg(f []string, base time.Time, loc *time.Location) (time.Time, []string, error) {
	if len(f) == 0 {
		return time.Time{}, nil, incident.Invalidf("give the start and the end: now, +2h, 2026-12-08 or 2026-12-08 22:00")
	}
	switch {
	case strings.EqualFold(f[0], "now"):
		return time.Now(), f[1:], nil
	case strings.HasPrefix(f[0], "+"):
		d, err := time.ParseDuration(f[0][1:])
		if err != nil || d <= 0 {
			return time.Time{}, nil, incident.Invalidf("%s is not a length such as +2h", mention.Inline(f[0]))
		}
		return base.Add(d), f[1:], nil
	}
	if len(f) > 1 && strings.Contains(f[1], ":") {
		t, err := rota.ParseWhen(f[0]+" "+f[1], loc)
		return t, f[2:], err
	}
	t, err := rota.ParseWhen(f[0], loc)
	return t, f[1:], err
}

func maintenanceAdd(ctx context.Context, h *Handler, c Call, rest string) (Reply, error) {
	f := strings.Fields(rest)
	if len(f) < 3 {
		return Reply{}, incident.Invalidf("give what the window covers, its start and its end")
	}
	loc := h.App.DisplayLocation()
	from, f2, err := whenArg(f[1:], time.Now(), loc)
	if err != nil {
		return Reply{}, err
	}
	to, f3, err := whenArg(f2, from, loc)
	if err != nil {
		return Reply{}, err
	}
	w, err := h.App.AddMaintenance(ctx, c.UserID, f[0], from, to, strings.Join(f3, " "))
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Maintenance window `%s` planned: %s, %s to %s. Matching alerts are recorded and open no incident until it ends; those still firing then open theirs. `/incident maintenance end %s` ends it early.",
		w.ID, w.Matcher(), w.From.In(loc).Format("Mon 2006-01-02 15:04"), w.To.In(loc).Format("Mon 2006-01-02 15:04 MST"), w.ID)}, nil
}

func maintenanceList(ctx context.Context, h *Handler) (Reply, error) {
	list, err := h.App.Maintenance(ctx)
	if err != nil {
		return Reply{}, err
	}
	if len(list) == 0 {
		return Reply{Text: "No maintenance windows: `/incident maintenance add rota=payments now +2h database upgrade` plans one."}, nil
	}
	now := time.Now()
	var b strings.Builder
	b.WriteString("#### Maintenance windows\n| Window | Covers | From | To (UTC) | State | Alerts held | Reason |\n|---|---|---|---|---|---|---|\n")
	for _, w := range list {
		state := "planned"
		switch {
		case w.Ended:
			state = "ended"
		case w.Active(now):
			state = "**active**"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %d | %s |\n", w.ID, mention.Inline(w.Matcher()), w.From.Format(wire.TimeLayout), w.To.Format(wire.TimeLayout), state, w.HeldCount, mention.Inline(w.Reason))
	}
	return Reply{Text: b.String()}, nil
}
