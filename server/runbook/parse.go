// Package runbook holds runbooks: named, versioned Markdown checklists that
// an incident follows, and the per-incident checklist made from one. It is
// domain code: standard library and package incident only.
package runbook

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Limits of a runbook.
const (
	MaxMarkdownBytes   = 20000 // the whole Markdown
	MaxSteps           = 100   // steps of a runbook, and of a checklist with added steps
	MaxStepRunes       = 300   // one step's text
	MaxHeadingRunes    = 100   // one heading's text
	MaxNameRunes       = 40    // a runbook's name
	MaxDescriptionRune = 200   // a runbook's description
	MaxReasonRunes     = 500   // a skip reason
)

// Step is one checklist step of a runbook.
type Step struct {
	// Section is the heading the step is under ("" before any heading).
	Section string `json:"section,omitempty"`
	Text    string `json:"text"`
	// Role, when set, is the role whose holder on the incident does the
	// step.
	Role incident.Role `json:"role,omitempty"`
}

var (
	headingRE = regexp.MustCompile(`^(#{1,6})(\s+(.*?))?\s*#*\s*$`)
	itemRE    = regexp.MustCompile(`^[-*+]\s+(.*)$`)
	boxRE     = regexp.MustCompile(`^\[(.?)\](?:\s+(.*))?$`)
	roleRE    = regexp.MustCompile(`^\[([^\]]*)\](?:\s+(.*))?$`)
)

// ParseError is bad runbook Markdown, with the line (from 1) it is on.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse reads the checklist steps of runbook Markdown: every `- [ ] text`
// item (also `*` or `+`, at any indentation) is a step, `- [ ] [rm] text`
// gives it to a role (im, l1, l2, l3, rm), and `#` headings group the steps
// that follow. Other lines (prose, links, blank lines) are kept in the
// Markdown but are not steps. A list item without a checkbox, a checked
// box, an unknown role, an empty or too long step, and too many steps are
// errors (incident.KindInvalid) naming the line.
func Parse(md string) ([]Step, error) {
	if len(md) > MaxMarkdownBytes {
		return nil, incident.Invalidf("the runbook is %d bytes long; the limit is %d", len(md), MaxMarkdownBytes)
	}
	if !utf8.ValidString(md) {
		return nil, incident.Invalidf("the runbook is not valid UTF-8 text")
	}
	var (
		steps   []Step
		section string
		fence   bool
	)
	bad := func(line int, format string, args ...any) error {
		return &incident.Error{Kind: incident.KindInvalid, Msg: (&ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}).Error()}
	}
	for i, raw := range strings.Split(md, "\n") {
		n := i + 1
		line := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		if strings.HasPrefix(line, "```") || strings.HasPrefix(line, "~~~") {
			fence = !fence
			continue
		}
		if fence || line == "" {
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "#"+"#######") {
			h := collapse(strings.TrimRight(collapse(m[3]), "#"))
			if h == "" {
				return nil, bad(n, "a heading without text")
			}
			if c := utf8.RuneCountInString(h); c > MaxHeadingRunes {
				return nil, bad(n, "the heading is %d characters long; the limit is %d", c, MaxHeadingRunes)
			}
			section = h
			continue
		}
		m := itemRE.FindStringSubmatch(line)
		if m == nil {
			continue // prose
		}
		box := boxRE.FindStringSubmatch(m[1])
		if box == nil {
			return nil, bad(n, "a list item without a checkbox: write it as `- [ ] %s`", clip(m[1], 40))
		}
		if box[1] != " " && box[1] != "" {
			return nil, bad(n, "a runbook step starts unchecked: write `- [ ]`, not `- [%s]`", box[1])
		}
		text := box[2]
		var role incident.Role
		if r := roleRE.FindStringSubmatch(text); r != nil {
			parsed, err := incident.ParseRole(r[1])
			if err != nil {
				return nil, bad(n, "unknown role [%s]: use [im], [l1], [l2], [l3] or [rm]", clip(r[1], 20))
			}
			role, text = parsed, r[2]
		}
		text = collapse(text)
		if text == "" {
			return nil, bad(n, "a step without text")
		}
		if c := utf8.RuneCountInString(text); c > MaxStepRunes {
			return nil, bad(n, "the step is %d characters long; the limit is %d", c, MaxStepRunes)
		}
		if len(steps) == MaxSteps {
			return nil, bad(n, "more than %d steps", MaxSteps)
		}
		steps = append(steps, Step{Section: section, Text: text, Role: role})
	}
	if fence {
		return nil, incident.Invalidf("a code block (```) is never closed")
	}
	if len(steps) == 0 {
		return nil, incident.Invalidf("the runbook has no steps: write each as a line `- [ ] text` (optionally `- [ ] [rm] text` for a role)")
	}
	return steps, nil
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// CleanName checks a runbook name: lowercase letters, digits, '-' and '_',
// starting with a letter or digit, up to MaxNameRunes. Upper case is
// folded.
func CleanName(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", incident.Invalidf("name the runbook, e.g. build-server")
	}
	if len(s) > MaxNameRunes || !nameRE.MatchString(s) {
		return "", incident.Invalidf("runbook name %q: use up to %d lowercase letters, digits, - and _", clip(s, MaxNameRunes+5), MaxNameRunes)
	}
	return s, nil
}
