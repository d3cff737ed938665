package command

import (
	"context"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// importHelp says how to import: a slash command cannot carry a file.
const importHelp = "To import an incident archive, send its `.incidents` file to the incident bot in a direct message (system admins). " +
	"The bot answers with what the import would do, and an Import button."

func runArchive(ctx context.Context, h *Handler, c Call) (Reply, error) {
	verb, rest, _ := strings.Cut(strings.TrimSpace(c.Rest), " ")
	switch verb {
	case "export":
		if h.Archives == nil {
			return Reply{}, incident.Invalidf("the incident archive is not available on this server")
		}
		from, err := exportSince(rest)
		if err != nil {
			return Reply{}, err
		}
		if err := h.Archives.StartArchiveExport(ctx, c.UserID, from); err != nil {
			return Reply{}, err
		}
		return Reply{Text: ":hourglass: Exporting the incident archive; the file will arrive in a direct message from the incident bot."}, nil
	case "import":
		return Reply{Text: importHelp}, nil
	}
	return Reply{}, incident.Invalidf("use `/incident archive export [--since <date>]` or `/incident archive import`")
}

// exportSince reads "[--since <date>]"; zero: everything.
func exportSince(rest string) (time.Time, error) {
	pos, vals, unknown := flags(rest, "since")
	if unknown != "" || pos != "" {
		return time.Time{}, incident.Invalidf("export takes only `--since <date>`, e.g. `--since 2026-01-01`")
	}
	v, ok := vals["since"]
	if !ok {
		return time.Time{}, nil
	}
	t, err := rota.ParseWhen(v, time.UTC)
	if err != nil {
		return time.Time{}, incident.Invalidf("--since %q: use a date such as 2026-01-01", v)
	}
	return t, nil
}

func archiveArgs(a *model.AutocompleteData) {
	export := model.NewAutocompleteData("export", "[--since <date>]", "Export every incident (or those since a date) to one file, sent to you by direct message (system admins)")
	export.AddNamedTextArgument("since", "Only incidents started on or after this date", "2026-01-01", "", false)
	a.AddCommand(export)
	a.AddCommand(model.NewAutocompleteData("import", "", "How to import an archive: send the file to the bot in a direct message (system admins)"))
}
