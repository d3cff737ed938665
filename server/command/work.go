package command

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// runWork shows and handles the work set aside after failing too often
// (system admins): `/incident work`, `work retry <n>`, `work drop <n>`.
func runWork(ctx context.Context, h *Handler, c Call) (Reply, error) {
	verb, rest, _ := strings.Cut(strings.TrimSpace(c.Rest), " ")
	switch verb {
	case "", "list":
		letters, err := h.App.DeadLetters(ctx, c.UserID)
		if err != nil {
			return Reply{}, err
		}
		if len(letters) == 0 {
			return Reply{Text: "Nothing is set aside: all work is done or on its way."}, nil
		}
		var b strings.Builder
		fmt.Fprintf(&b, "#### Work set aside (%d)\n| # | what | since | tries | last error |\n|---|---|---|---|---|\n", len(letters))
		for _, d := range letters {
			fmt.Fprintf(&b, "| %d | %s | %s UTC | %d | %s |\n", d.N, d.Ref(), d.At.UTC().Format("2006-01-02 15:04"), d.Tries, tableCell(clip(d.Error, 200)))
		}
		b.WriteString("\n`/incident work retry <#>` does it again once its cause is fixed; `/incident work drop <#>` gives it up.")
		return Reply{Text: b.String()}, nil
	case "retry", "drop":
		n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(rest), "#"), 10, 64)
		if err != nil || n <= 0 {
			return Reply{}, incident.Invalidf("say which: `/incident work %s <#>`, with a number from `/incident work`", verb)
		}
		if verb == "drop" {
			d, err := h.App.DropDeadLetter(ctx, c.UserID, n)
			if err != nil {
				return Reply{}, err
			}
			return Reply{Text: fmt.Sprintf("Dropped %d (%s): it will not be done.", n, d.Ref())}, nil
		}
		d, err := h.App.RetryDeadLetter(ctx, c.UserID, n)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Retrying %d (%s) now.", n, d.Ref())}, nil
	}
	return Reply{}, incident.Invalidf("use `/incident work`, `/incident work retry <#>` or `/incident work drop <#>`")
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func workArgs(a *model.AutocompleteData) {
	a.RoleID = model.SystemAdminRoleId
	a.AddCommand(model.NewAutocompleteData("list", "", "List the work set aside after failing too often"))
	a.AddCommand(model.NewAutocompleteData("retry", "<#>", "Do a piece of set-aside work again"))
	a.AddCommand(model.NewAutocompleteData("drop", "<#>", "Give a piece of set-aside work up"))
}
