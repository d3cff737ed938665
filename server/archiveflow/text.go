package archiveflow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/mention"
)

// importText reports what an import did (or, in a dry run, would do):
// counts, the incidents concerned, and every name that did not match.
func importText(r *app.ImportReport, render func(string) string) string {
	var b strings.Builder
	m := r.Archive
	from := m.SiteURL
	if from == "" {
		from = "another server"
	}
	fmt.Fprintf(&b, "#### Incident archive from %s, exported %s by @%s\n", mention.Inline(from), m.ExportedAt.UTC().Format("2006-01-02 15:04 UTC"), mention.Inline(m.ExportedBy))
	verb := map[bool]string{true: "Would import", false: "Imported"}[r.DryRun]
	fmt.Fprintf(&b, "%s %d new incidents", verb, len(r.Created))
	if n := len(r.Updated); n > 0 {
		bring := map[bool]string{true: "bring", false: "brought"}[r.DryRun]
		fmt.Fprintf(&b, " and %s %d up to date", bring, n)
	}
	fmt.Fprintf(&b, "; %d are the same here already", len(r.Unchanged))
	if n := len(r.KeptNewer); n > 0 {
		fmt.Fprintf(&b, "; %d are newer here and stay as they are (%s)", n, incidentRefs(r.KeptNewer))
	}
	b.WriteString(".\n")
	if len(r.DocsCreated) > 0 {
		fmt.Fprintf(&b, "- Added: %s.\n", inlineAll(r.DocsCreated))
	}
	if len(r.DocsKept) > 0 {
		fmt.Fprintf(&b, "- Kept this server's: %s.\n", inlineAll(r.DocsKept))
	}
	for _, s := range r.DocsSkipped {
		fmt.Fprintf(&b, "- Not imported: %s.\n", mention.Inline(s))
	}
	for _, d := range r.Shared {
		switch {
		case d.Taken && d.Replaces:
			fmt.Fprintf(&b, "- Replaced %s with the archive's:\n", d.Label)
		case d.Taken:
			fmt.Fprintf(&b, "- Added %s of the archive:\n", d.Label)
		case d.Replaces:
			fmt.Fprintf(&b, "- Kept %s of this server; the archive's differs (import with the rota and sign-off groups to take it):\n", d.Label)
		default:
			fmt.Fprintf(&b, "- Not added unless you import with the rota and sign-off groups: %s of the archive (this server has none):\n", d.Label)
		}
		keys := make([]string, 0, len(d.Members))
		for k := range d.Members {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			people := make([]string, len(d.Members[k]))
			for i, id := range d.Members[k] {
				people[i] = "<@" + id + ">"
			}
			fmt.Fprintf(&b, "  - %s: %s\n", mention.Inline(k), refs(people))
		}
	}
	for i, s := range r.Skipped {
		if i == listLines {
			fmt.Fprintf(&b, "- … and %d more not imported.\n", len(r.Skipped)-listLines)
			break
		}
		fmt.Fprintf(&b, "- Not imported: #%s, because %s.\n", s.ID, s.Why)
	}
	section := func(title, hint string, list []app.Unmatched) {
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n**%s (%d)**, %s:\n", title, len(list), hint)
		for i, u := range list {
			if i == listLines {
				fmt.Fprintf(&b, "- … and %d more\n", len(list)-listLines)
				break
			}
			fmt.Fprintf(&b, "- %s, in %s\n", mention.Inline(u.Name), refs(u.Where))
		}
	}
	section("Users not on this server", "kept under their old ids and shown as former users (to link them, create them with the same usernames before importing: incidents already imported keep what they have)", r.UnmatchedUsers)
	section("Channels not on this server", "their incidents are imported, but only system admins can see them (to keep them with their channel, create it with the same team and name before importing)", r.UnmatchedChannels)
	section("Teams not on this server", "kept under their old ids", r.UnmatchedTeams)
	return render(b.String())
}

// listLines bounds each list of the report, and refsShown the incidents
// named on one line, so that the report of a large archive stays one
// post (the server's limit is 16,383 characters).
const (
	listLines = 15
	refsShown = 8
)

// refs joins up to refsShown names, counting the rest.
func refs(names []string) string {
	if len(names) <= refsShown {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:refsShown], ", ") + fmt.Sprintf(" and %d more", len(names)-refsShown)
}

// inlineAll shows names from an archive as plain text.
func inlineAll(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = mention.Inline(n)
	}
	return strings.Join(out, ", ")
}

func incidentRefs(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "#" + id
	}
	return refs(out)
}
