package main

import (
	"fmt"
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
	fmt.Fprintf(&b, "%s %d new incidents and bring %d up to date; %d are the same here already", verb, len(r.Created), len(r.Updated), len(r.Unchanged))
	if n := len(r.KeptNewer); n > 0 {
		fmt.Fprintf(&b, "; %d are newer here and stay as they are (%s)", n, refs(r.KeptNewer))
	}
	b.WriteString(".\n")
	if len(r.DocsCreated) > 0 {
		fmt.Fprintf(&b, "- Added: %s.\n", strings.Join(r.DocsCreated, ", "))
	}
	if len(r.DocsKept) > 0 {
		fmt.Fprintf(&b, "- Kept this server's: %s.\n", strings.Join(r.DocsKept, ", "))
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "- Not imported: #%s, because %s.\n", s.ID, s.Why)
	}
	section := func(title, hint string, list []app.Unmatched) {
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n**%s (%d)**, %s:\n", title, len(list), hint)
		for _, u := range list {
			fmt.Fprintf(&b, "- %s, in %s\n", mention.Inline(u.Name), strings.Join(u.Where, ", "))
		}
	}
	section("Users not on this server", "kept under their old ids, shown as former users; create them with the same usernames and import again to link them", r.UnmatchedUsers)
	section("Channels not on this server", "their incidents are imported; only system admins see them until the channel exists", r.UnmatchedChannels)
	section("Teams not on this server", "kept under their old ids", r.UnmatchedTeams)
	return render(b.String())
}

func refs(ids []string) string {
	const show = 10
	out := make([]string, 0, min(len(ids), show))
	for i, id := range ids {
		if i == show {
			return strings.Join(out, ", ") + fmt.Sprintf(" and %d more", len(ids)-show)
		}
		out = append(out, "#"+id)
	}
	return strings.Join(out, ", ")
}
