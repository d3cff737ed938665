package command

import (
	"context"
	"fmt"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/hotfix"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// runHotfix opens a hotfix request, or without a description shows the
// incident's hotfixes: "/incident hotfix [#id] [--author @x] [--rm @y]
// <description>".
func runHotfix(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, rest, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	desc, named, err := userFlags(rest, "author", "rm")
	if err != nil {
		return Reply{}, err
	}
	if desc == "" && len(named) == 0 {
		return h.hotfixStatus(ctx, inc)
	}
	req := app.HotfixRequest{Actor: c.UserID, Description: desc}
	if req.Author, err = h.optionalUser(named["author"]); err != nil {
		return Reply{}, err
	}
	if req.ReleaseManager, err = h.optionalUser(named["rm"]); err != nil {
		return Reply{}, err
	}
	hf, err := h.App.RequestHotfix(ctx, inc, req)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: h.Render(fmt.Sprintf("Hotfix %d requested on %s: <@%s> releases it and is paged; %s sign off staging, then again after deploy.",
		hf.N, inc.ShortRef(), hf.ReleaseManager, strings.Join(hf.Groups, ", ")))}, nil
}

// userFlags takes "--name @user" pairs out of rest, wherever they are, and
// returns the remaining text as typed.
func userFlags(rest string, names ...string) (string, map[string]string, error) {
	found := map[string]string{}
	var keep []string
	fields := strings.Fields(rest)
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		name, isFlag := strings.CutPrefix(f, "--")
		if !isFlag || name == "" {
			keep = append(keep, f)
			continue
		}
		if !contains(names, strings.ToLower(name)) {
			return "", nil, incident.Invalidf("unknown option %s: use %s", mention.Inline(f), "--"+strings.Join(names, " @user, --")+" @user")
		}
		if i+1 == len(fields) || !strings.HasPrefix(fields[i+1], "@") {
			return "", nil, incident.Invalidf("%s needs a @username after it", mention.Inline(f))
		}
		found[strings.ToLower(name)] = fields[i+1]
		i++
	}
	if len(found) == 0 {
		return strings.TrimSpace(rest), found, nil // keep line breaks as typed
	}
	return strings.Join(keep, " "), found, nil
}

func (h *Handler) optionalUser(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	return h.user(token)
}

// hotfixStatus lists the incident's hotfixes with their state.
func (h *Handler) hotfixStatus(ctx context.Context, inc *incident.Incident) (Reply, error) {
	b, err := h.App.Hotfixes(ctx, inc)
	if err != nil {
		return Reply{}, err
	}
	if len(b.Hotfixes) == 0 {
		return Reply{Text: fmt.Sprintf("%s has no hotfix request. `/%s hotfix <description>` opens one; its release manager is paged and %s sign it off.",
			inc.ShortRef(), Trigger, groupList(h.App.RequiredGroups()))}, nil
	}
	var out strings.Builder
	fmt.Fprintf(&out, "#### Hotfixes of %s\n", inc.ShortRef())
	for _, hf := range b.Hotfixes {
		fmt.Fprintf(&out, "- **Hotfix %d**: %s. %s · release manager <@%s>", hf.N, mention.Inline(hf.Description), hf.Status.Label(), hf.ReleaseManager)
		if st := hf.Stage(); st != "" {
			fmt.Fprintf(&out, " · waiting for %s", strings.Join(hf.Waiting(st), ", "))
		}
		out.WriteString("\n")
	}
	return Reply{Text: h.Render(out.String())}, nil
}

func groupList(groups []string) string {
	if len(groups) == 0 {
		return "the sign-off groups (none are configured yet)"
	}
	return strings.Join(groups, ", ")
}

// runSignoff signs the active hotfix's current stage off for a group:
// "/incident signoff [#id] <group> approve|reject [reason]".
func runSignoff(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, rest, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	group, rest, _ := cutSpace(rest)
	verdict, reason, _ := cutSpace(rest)
	if group == "" || verdict == "" {
		return Reply{}, incident.Invalidf("say which group you sign for and whether you approve or reject, e.g. `qa approve`")
	}
	var approve bool
	switch strings.ToLower(verdict) {
	case "approve", "approved", "ok", "yes":
		approve = true
	case "reject", "rejected", "no":
	default:
		return Reply{}, incident.Invalidf("%q is neither approve nor reject", verdict)
	}
	if approve && reason != "" {
		return Reply{}, incident.Invalidf("an approval takes no text; add a note with `/%s note` if needed", Trigger)
	}
	hf, err := h.App.SignHotfix(ctx, inc, app.SignRequest{Actor: c.UserID, Group: group, Approve: approve, Reason: reason})
	if err != nil {
		return Reply{}, err
	}
	word := "approved"
	if !approve {
		word = "rejected"
	}
	stage := hf.Signoffs[len(hf.Signoffs)-1].Stage
	return Reply{Text: fmt.Sprintf("You %s %s of hotfix %d on %s for %s. It is now %s.",
		word, strings.ToLower(stage.Title()), hf.N, inc.ShortRef(), strings.ToLower(group), hf.Status.Label())}, nil
}

// runDeployed marks the active hotfix deployed (its release manager only).
func runDeployed(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, _, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	hf, err := h.App.MarkDeployed(ctx, c.UserID, inc, 0)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Hotfix %d on %s marked deployed; %s now sign it off after deploy.", hf.N, inc.ShortRef(), strings.Join(hf.Groups, ", "))}, nil
}

// runHotfixCancel withdraws the active hotfix.
func runHotfixCancel(ctx context.Context, h *Handler, c Call) (Reply, error) {
	inc, reason, err := h.locate(ctx, c)
	if err != nil {
		return Reply{}, err
	}
	hf, err := h.App.CancelHotfix(ctx, c.UserID, inc, reason)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Hotfix %d on %s cancelled.", hf.N, inc.ShortRef())}, nil
}

// runSignoffGroup lists or edits the sign-off groups:
// "/incident signoff-group [list | set <group> @a @b | remove <group>]".
func runSignoffGroup(ctx context.Context, h *Handler, c Call) (Reply, error) {
	op, rest, _ := cutSpace(c.Rest)
	var (
		g   *hotfix.Groups
		err error
		did string
	)
	switch strings.ToLower(op) {
	case "", "list", "show":
		if g, err = h.App.SignoffGroups(ctx); err != nil {
			return Reply{}, err
		}
	case "set":
		name, members, _ := cutSpace(rest)
		ids, uerr := h.users(strings.Fields(members))
		if uerr != nil {
			return Reply{}, uerr
		}
		if g, err = h.App.SetSignoffGroup(ctx, c.UserID, name, ids); err != nil {
			return Reply{}, err
		}
		did = fmt.Sprintf("Sign-off group %s saved.\n", strings.ToLower(name))
	case "remove", "delete":
		if g, err = h.App.RemoveSignoffGroup(ctx, c.UserID, strings.TrimSpace(rest)); err != nil {
			return Reply{}, err
		}
		did = fmt.Sprintf("Sign-off group %s removed.\n", strings.ToLower(strings.TrimSpace(rest)))
	default:
		return Reply{}, incident.Invalidf("unknown signoff-group command %q: use list, set or remove", op)
	}
	return Reply{Text: h.Render(did + groupsText(g, h.App.RequiredGroups()))}, nil
}

// groupsText shows the groups, marking those hotfixes need; members render
// through Render, in an ephemeral reply that notifies nobody.
func groupsText(g *hotfix.Groups, required []string) string {
	var b strings.Builder
	b.WriteString("#### Sign-off groups\n")
	if len(g.Members) == 0 {
		fmt.Fprintf(&b, "None yet. An admin defines one with `/%s signoff-group set qa @alice @bob`.\n", Trigger)
	}
	for _, name := range g.Names() {
		refs := make([]string, len(g.Members[name]))
		for i, id := range g.Members[name] {
			refs[i] = "<@" + id + ">"
		}
		mark := ""
		if contains(required, name) {
			mark = " (hotfixes need it)"
		}
		fmt.Fprintf(&b, "- **%s**%s: %s\n", name, mark, strings.Join(refs, ", "))
	}
	if len(required) == 0 {
		b.WriteString("\nHotfixes need no groups yet: a system admin sets *Hotfix sign-off groups* in the plugin settings.")
	} else {
		fmt.Fprintf(&b, "\nEvery hotfix needs sign-off from: %s, in staging and again after deploy.", strings.Join(required, ", "))
		for _, name := range required {
			if len(g.Members[name]) == 0 {
				fmt.Fprintf(&b, "\n:warning: %s has no members yet: hotfixes cannot be requested until it has.", name)
			}
		}
	}
	return b.String()
}

// runFreeze shows whether releases are frozen, and why.
func runFreeze(ctx context.Context, h *Handler, c Call) (Reply, error) {
	v, err := h.App.ReleaseFreeze(ctx, c.UserID)
	if err != nil {
		return Reply{}, err
	}
	var b strings.Builder
	if !v.Active {
		b.WriteString(":sunny: **No release freeze**: no S1 incident is open.")
		if !v.Until.IsZero() {
			fmt.Fprintf(&b, " The last freeze ended %s.", v.Until.UTC().Format(wire.TimeLayout))
		}
		return Reply{Text: b.String()}, nil
	}
	fmt.Fprintf(&b, ":ice_cube: **Release freeze** in force since %s: releases are frozen while an S1 incident is open, except that incident's hotfixes.\n",
		v.Since.UTC().Format(wire.TimeLayout))
	for _, inc := range v.Holding {
		fmt.Fprintf(&b, "- %s **%s** (%s)\n", inc.ShortRef(), mention.Inline(inc.Title), inc.Status.Label())
	}
	if v.Hidden > 0 {
		fmt.Fprintf(&b, "- %d S1 incident(s) you cannot see\n", v.Hidden)
	}
	if len(v.Exempt) == 0 {
		b.WriteString("No hotfix is under way.")
	}
	for _, hf := range v.Exempt {
		fmt.Fprintf(&b, "Exempt: hotfix %d on #%s, %s.\n", hf.N, hf.IncidentID, hf.Status.Label())
	}
	return Reply{Text: h.Render(b.String())}, nil
}

func signoffArgs(a *model.AutocompleteData) {
	a.AddTextArgument("The group you sign for, then approve, or reject with a reason", "<group> approve|reject [reason]", "")
}

func signoffGroupArgs(a *model.AutocompleteData) {
	list := model.NewAutocompleteData("list", "", "Show the groups and their members")
	set := model.NewAutocompleteData("set", "<group> @user...", "Define a group's members (admins)")
	set.AddTextArgument("Group name, then its members", "<group> @alice @bob", "")
	remove := model.NewAutocompleteData("remove", "<group>", "Delete a group (admins)")
	remove.AddTextArgument("Group name", "<group>", "")
	a.AddCommand(list)
	a.AddCommand(set)
	a.AddCommand(remove)
}
