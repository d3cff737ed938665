package postmortem

import (
	"fmt"

	"github.com/incidentbot/mattermost-incident-bot/server/runbook"
)

// runbookSection lists the incident's runbook checklist: steps done (by
// whom, when), skipped (with the reason), left open, and the steps added
// during the incident as a proposed runbook change. No checklist, no
// section.
func (r *renderer) runbookSection() {
	c := r.in.Checklist
	if c == nil {
		return
	}
	r.section("Runbook")
	closed, total := c.Progress()
	r.printf("Runbook `%s`, version %d: %d of %d steps done or skipped.\n\n", c.Runbook, c.Version, closed, total)
	var done, skipped, open []runbook.Item
	for _, it := range c.Items {
		switch it.Status {
		case runbook.StatusDone:
			done = append(done, it)
		case runbook.StatusSkipped:
			skipped = append(skipped, it)
		default:
			open = append(open, it)
		}
	}
	step := func(it runbook.Item) string {
		s := fmt.Sprintf("%d. %s", it.N, title(it.Text))
		if it.Role != "" {
			s += " (" + it.Role.Title() + ")"
		}
		return s
	}
	if len(done) > 0 {
		r.b.WriteString("**Done**\n\n")
		for _, it := range done {
			r.printf("- %s: %s, %s UTC\n", step(it), r.name(it.By), stamp(it.At))
		}
		r.b.WriteString("\n")
	}
	if len(skipped) > 0 {
		r.b.WriteString("**Skipped**\n\n")
		for _, it := range skipped {
			r.printf("- %s: %s, %s UTC: %s\n", step(it), r.name(it.By), stamp(it.At), title(it.Reason))
		}
		r.b.WriteString("\n")
	}
	if len(open) > 0 {
		r.b.WriteString("**Left open**\n\n")
		for _, it := range open {
			r.printf("- %s\n", step(it))
		}
		r.b.WriteString("\n")
	}
	if added := c.Added(); len(added) > 0 {
		r.b.WriteString("**Proposed runbook changes**: steps added during the incident\n\n")
		for _, it := range added {
			r.printf("- %s, added by %s\n", step(it), r.name(it.AddedBy))
		}
		if c.Applied > 0 {
			r.printf("\n_Applied as version %d of runbook `%s`._\n", c.Applied, c.Runbook)
		} else {
			r.printf("\n_An admin applies them as a new version of runbook `%s` with **Apply to runbook**._\n", c.Runbook)
		}
		r.b.WriteString("\n")
	}
}
