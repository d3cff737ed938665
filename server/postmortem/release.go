package postmortem

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// The release section tells, from the timeline alone, the story of the
// release freezes the incident held and of each hotfix: the request, every
// required group's sign-off at each stage, the deploy, and the outcome.

// hotfixStages are the sign-off stages of a hotfix, in order.
var hotfixStages = [...]struct{ key, title string }{
	{incident.StageStaging, "Staging"},
	{incident.StageAfterDeploy, "After deploy"},
}

// stageIndex returns the index of the stage key in hotfixStages, -1 if it
// is none of them.
func stageIndex(key string) int {
	for i, s := range hotfixStages {
		if s.key == key {
			return i
		}
	}
	return -1
}

// stageName is how a sentence names a stage: "staging", "after deploy".
func stageName(key string) string {
	if i := stageIndex(key); i >= 0 {
		return strings.ToLower(hotfixStages[i].title)
	}
	return oneLine(strings.ReplaceAll(key, "_", " "))
}

// stagePhrase says where in the sign-off something happened: "in staging",
// "after deploy".
func stagePhrase(i int) string {
	if hotfixStages[i].key == incident.StageStaging {
		return "in staging"
	}
	return stageName(hotfixStages[i].key)
}

// signature is one group member's verdict on one stage.
type signature struct {
	group, by string
	approved  bool
	reason    string // a rejection's reason (user text)
	at        time.Time
}

// hotfixStage is the sign-off of one stage.
type hotfixStage struct {
	sigs   []signature
	doneAt time.Time // when every required group had approved; zero if not
}

// hotfix is one hotfix's history.
type hotfix struct {
	n           int
	requestedAt time.Time // zero if the request is not on the timeline
	requestedBy string
	author, rm  string
	why         string // why the release manager was substituted, domain text
	text        string // the description, user text
	groups      []string
	stages      [len(hotfixStages)]hotfixStage
	deployedAt  time.Time
	deployedBy  string
	// rejected is the first rejection, in stage rejectedIn.
	rejected    *signature
	rejectedIn  int
	cancelledAt time.Time
	cancelledBy string
	cancelWhy   string // user text
}

// Outcomes of a hotfix.
const (
	hotfixOpen = iota
	hotfixSignedOff
	hotfixRejected
	hotfixCancelled
)

// outcome is how the hotfix ended, and when: whichever of the after deploy
// sign-off, the first rejection and the cancellation came first.
func (h *hotfix) outcome() (int, time.Time) {
	kind, at := hotfixOpen, time.Time{}
	end := func(k int, t time.Time) {
		if kind == hotfixOpen || t.Before(at) {
			kind, at = k, t
		}
	}
	if h.rejected != nil {
		end(hotfixRejected, h.rejected.at)
	}
	if !h.cancelledAt.IsZero() {
		end(hotfixCancelled, h.cancelledAt)
	}
	if t := h.stages[len(h.stages)-1].doneAt; !t.IsZero() {
		end(hotfixSignedOff, t)
	}
	return kind, at
}

// freezePeriod is one release freeze; from is zero when its start is not
// on the timeline, to while it is still in force (or its end is missing).
type freezePeriod struct{ from, to time.Time }

// release is the release history of one incident.
type release struct {
	hotfixes []*hotfix // by number
	freezes  []freezePeriod
}

func (rel *release) empty() bool { return len(rel.hotfixes) == 0 && len(rel.freezes) == 0 }

// buildRelease reads the hotfixes and freezes from the time-ordered events.
// A hotfix event without a valid number is left to the timeline table.
func buildRelease(evs []incident.Event) *release {
	rel := &release{}
	var byN map[int]*hotfix
	get := func(e incident.Event) *hotfix {
		n, err := strconv.Atoi(strings.TrimSpace(e.Data[incident.DataHotfix]))
		if err != nil || n <= 0 {
			return nil
		}
		if byN == nil {
			byN = map[int]*hotfix{}
		}
		h := byN[n]
		if h == nil {
			h = &hotfix{n: n}
			byN[n] = h
			rel.hotfixes = append(rel.hotfixes, h)
		}
		return h
	}
	inForce := false
	for _, e := range evs {
		d := e.Data
		switch e.Type {
		case incident.EventHotfixRequested:
			if h := get(e); h != nil && h.requestedAt.IsZero() {
				h.requestedAt, h.requestedBy, h.text = e.At, e.Actor, e.Text
				h.author, h.rm, h.why = d[incident.DataAuthor], d[incident.DataRM], d[incident.DataWhy]
				for _, g := range strings.Split(d[incident.DataGroups], ",") {
					if g = oneLine(g); g != "" && !slices.Contains(h.groups, g) {
						h.groups = append(h.groups, g)
					}
				}
			}
		case incident.EventHotfixSigned:
			h, i := get(e), stageIndex(d[incident.DataStage])
			if h == nil || i < 0 {
				continue
			}
			v := d[incident.DataVerdict]
			if v != incident.VerdictApproved && v != incident.VerdictRejected {
				continue
			}
			s := signature{group: oneLine(d[incident.DataGroup]), by: e.Actor, approved: v == incident.VerdictApproved, at: e.At}
			if !s.approved {
				s.reason = e.Text
			}
			h.stages[i].sigs = append(h.stages[i].sigs, s)
			if !s.approved && h.rejected == nil {
				h.rejected, h.rejectedIn = &s, i
			}
		case incident.EventHotfixStageDone:
			if h, i := get(e), stageIndex(d[incident.DataStage]); h != nil && i >= 0 && h.stages[i].doneAt.IsZero() {
				h.stages[i].doneAt = e.At
			}
		case incident.EventHotfixDeployed:
			if h := get(e); h != nil && h.deployedAt.IsZero() {
				h.deployedAt, h.deployedBy = e.At, e.Actor
			}
		case incident.EventHotfixCancelled:
			if h := get(e); h != nil && h.cancelledAt.IsZero() {
				h.cancelledAt, h.cancelledBy, h.cancelWhy = e.At, e.Actor, e.Text
			}
		case incident.EventFreezeStarted:
			if !inForce {
				rel.freezes = append(rel.freezes, freezePeriod{from: e.At})
				inForce = true
			}
		case incident.EventFreezeEnded:
			if inForce {
				rel.freezes[len(rel.freezes)-1].to = e.At
				inForce = false
			} else {
				rel.freezes = append(rel.freezes, freezePeriod{to: e.At})
			}
		}
	}
	slices.SortFunc(rel.hotfixes, func(a, b *hotfix) int { return cmp.Compare(a.n, b.n) })
	return rel
}

// release renders the release section, only when the timeline has a
// hotfix or a freeze.
func (r *renderer) release() {
	rel := buildRelease(r.evs)
	if rel.empty() {
		return
	}
	r.section("Release and hotfix")
	if len(rel.freezes) > 0 {
		r.freezes(rel.freezes)
	}
	for _, h := range rel.hotfixes {
		r.hotfix(h)
	}
}

func (r *renderer) freezes(fs []freezePeriod) {
	r.b.WriteString("### Release freeze\n\n")
	var total time.Duration
	measured := 0
	for _, f := range fs {
		switch {
		case f.from.IsZero():
			r.printf("- Until %s UTC; its start is not on the timeline\n", stamp(f.to))
		case !f.to.IsZero():
			d := f.to.Sub(f.from)
			total += d
			measured++
			r.printf("- From %s UTC to %s UTC: %s\n", stamp(f.from), stamp(f.to), dur(d))
		case !r.m.Resolved:
			d := max(r.m.End.Sub(f.from), 0)
			total += d
			measured++
			r.printf("- From %s UTC, still in force: %s so far\n", stamp(f.from), dur(d))
		default:
			r.printf("- From %s UTC; its end is not on the timeline\n", stamp(f.from))
		}
	}
	if measured > 1 {
		r.printf("- In total: %s\n", dur(total))
	}
	r.b.WriteString("\n")
}

func (r *renderer) hotfix(h *hotfix) {
	kind, endAt := h.outcome()
	var status string
	switch kind {
	case hotfixSignedOff:
		status = "signed off"
	case hotfixRejected:
		status = "rejected " + stagePhrase(h.rejectedIn)
	case hotfixCancelled:
		status = "cancelled"
	default:
		status = "in progress"
	}
	r.printf("### Hotfix %d: %s\n\n", h.n, status)
	if strings.TrimSpace(h.text) == "" {
		r.b.WriteString("_No description was given._\n\n")
	} else {
		r.b.WriteString(quote(h.text) + "\n\n")
	}

	if h.requestedAt.IsZero() {
		r.b.WriteString("- **Requested:** not on the timeline\n")
	} else {
		r.printf("- **Requested:** by %s at %s UTC\n", r.name(h.requestedBy), stamp(h.requestedAt))
		if h.author != "" && h.author != h.requestedBy {
			r.printf("- **Fix by:** %s\n", r.name(h.author))
		}
		rm := "none"
		if h.rm != "" {
			rm = r.name(h.rm)
		}
		r.printf("- **Release manager:** %s\n", rm)
		if why := oneLine(renderUsers(h.why, r.name)); why != "" {
			r.printf("- **Release manager substitution:** %s\n", why)
		}
		groups := "none"
		if len(h.groups) > 0 {
			groups = strings.Join(h.groups, ", ")
		}
		r.printf("- **Sign-off groups:** %s\n", groups)
	}

	ended := kind != hotfixOpen
	for i, st := range hotfixStages {
		s := &h.stages[i]
		r.printf("- **%s:** ", st.title)
		reached := i == 0 || !h.deployedAt.IsZero() || len(s.sigs) > 0
		switch {
		case !s.doneAt.IsZero():
			r.printf("complete at %s UTC\n", stamp(s.doneAt))
		case kind == hotfixRejected && h.rejectedIn == i:
			r.printf("rejected at %s UTC\n", stamp(h.rejected.at))
		case !reached && ended:
			r.b.WriteString("not reached\n")
			continue
		case !reached:
			r.b.WriteString("waiting for the deploy\n")
			continue
		case ended:
			r.b.WriteString("not complete\n")
		default:
			r.b.WriteString("waiting for sign-off\n")
		}
		r.signatures(h, s)
	}

	if h.deployedAt.IsZero() {
		r.b.WriteString("- **Deployed:** not deployed\n")
	} else {
		r.printf("- **Deployed:** by %s at %s UTC\n", r.name(h.deployedBy), stamp(h.deployedAt))
		if !h.requestedAt.IsZero() {
			r.printf("- **Time from request to deploy:** %s\n", dur(h.deployedAt.Sub(h.requestedAt)))
		}
	}

	switch kind {
	case hotfixSignedOff:
		r.printf("- **Outcome:** signed off after deploy at %s UTC\n", stamp(endAt))
	case hotfixRejected:
		rj := h.rejected
		r.printf("- **Outcome:** rejected %s by %s at %s UTC%s\n", stagePhrase(h.rejectedIn), r.name(rj.by), stamp(rj.at), reason(rj.reason))
	case hotfixCancelled:
		r.printf("- **Outcome:** cancelled by %s at %s UTC%s\n", r.name(h.cancelledBy), stamp(h.cancelledAt), reason(h.cancelWhy))
	default:
		next := "sign-off in staging"
		switch {
		case !h.deployedAt.IsZero():
			next = "sign-off after deploy"
		case !h.stages[0].doneAt.IsZero():
			next = "the deploy"
		}
		r.printf("- **Outcome:** still in progress, waiting for %s\n", next)
	}
	r.b.WriteString("\n")
}

// signatures lists each group's verdicts on one stage: the required
// groups in order, then any other group that signed; "not signed" for a
// required group without one.
func (r *renderer) signatures(h *hotfix, s *hotfixStage) {
	groups := slices.Clone(h.groups)
	for _, sg := range s.sigs {
		if !slices.Contains(groups, sg.group) {
			groups = append(groups, sg.group)
		}
	}
	for _, g := range groups {
		label := g
		if label == "" {
			label = "(no group)"
		}
		signed := false
		for _, sg := range s.sigs {
			if sg.group != g {
				continue
			}
			signed = true
			if sg.approved {
				r.printf("  - **%s**: approved by %s at %s UTC\n", label, r.name(sg.by), stamp(sg.at))
			} else {
				r.printf("  - **%s**: rejected by %s at %s UTC%s\n", label, r.name(sg.by), stamp(sg.at), reason(sg.reason))
			}
		}
		if !signed {
			r.printf("  - **%s**: not signed\n", label)
		}
	}
}

// reason renders a reason (user text) after a sentence: ": " and the text
// on one line, or nothing.
func reason(text string) string {
	if text = oneLine(text); text != "" {
		return ": " + text
	}
	return ""
}
