package hotfix

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Limits that keep the groups document and sign-off posts small.
const (
	MaxGroups       = 20 // defined groups
	MaxGroupMembers = 50
	MaxRequired     = 8 // groups one hotfix needs
	maxGroupName    = 32
)

// Groups are the sign-off groups and their members (user ids, in the order
// given). The zero value has no groups.
type Groups struct {
	Members map[string][]string `json:"members,omitempty"`
	// Revision counts writes; stores keep the document with compare-and-set.
	Revision int64 `json:"revision"`
}

// ParseGroupName checks a group name and returns it in canonical form,
// lower case: 1 to 32 letters, digits, '-' or '_', starting with a letter
// or digit. Names appear in button ids and commands, so they stay plain.
func ParseGroupName(s string) (string, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "" {
		return "", incident.Invalidf("name the group, e.g. qa or product")
	}
	if len(name) > maxGroupName {
		return "", incident.Invalidf("group name %q is too long: at most %d characters", s, maxGroupName)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '_')
		if !ok {
			return "", incident.Invalidf("group name %q: use letters, digits, - and _ only, starting with a letter or digit", s)
		}
	}
	return name, nil
}

// ParseGroupList parses a comma- or space-separated list of group names,
// as in the plugin setting, without duplicates.
func ParseGroupList(s string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		name, err := ParseGroupName(f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(out) > MaxRequired {
		return nil, incident.Invalidf("%d sign-off groups required; the limit is %d", len(out), MaxRequired)
	}
	return out, nil
}

// Set defines group name with members (replacing any earlier members).
func (g *Groups) Set(name string, members []string) error {
	name, err := ParseGroupName(name)
	if err != nil {
		return err
	}
	var ms []string
	for _, m := range members {
		if m != "" && !slices.Contains(ms, m) {
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		return incident.Invalidf("name the members of %s: `@alice @bob`; `remove %s` deletes the group", name, name)
	}
	if len(ms) > MaxGroupMembers {
		return incident.Invalidf("%d members for %s; the limit is %d", len(ms), name, MaxGroupMembers)
	}
	if _, exists := g.Members[name]; !exists && len(g.Members) >= MaxGroups {
		return incident.Invalidf("there are already %d sign-off groups, the limit; remove one first", MaxGroups)
	}
	if g.Members == nil {
		g.Members = map[string][]string{}
	}
	g.Members[name] = ms
	return nil
}

// Remove deletes group name; KindNotFound if there is none.
func (g *Groups) Remove(name string) error {
	name, err := ParseGroupName(name)
	if err != nil {
		return err
	}
	if _, ok := g.Members[name]; !ok {
		return incident.NotFoundf("there is no sign-off group %s", name)
	}
	delete(g.Members, name)
	return nil
}

// Names returns the group names in alphabetical order.
func (g *Groups) Names() []string { return slices.Sorted(maps.Keys(g.Members)) }

// IsMember reports whether userID belongs to group name.
func (g *Groups) IsMember(name, userID string) bool {
	return slices.Contains(g.Members[name], userID)
}

// CheckRequired reports, as a KindConflict error, why a hotfix requested
// or made by fixers could not be signed off by the required groups: a
// group that is not defined, or required groups that cannot each be
// signed by a different member who is none of the fixers (one person signs
// for one group per stage). nil means a sign-off is possible.
func (g *Groups) CheckRequired(required []string, fixers ...string) error {
	if len(required) == 0 {
		return incident.Conflictf("no sign-off groups are required for hotfixes: a system admin sets them in System Console > Plugins > Incident bot > Hotfix sign-off groups")
	}
	eligible := make([][]string, len(required))
	for i, name := range required {
		ms := g.Members[name]
		if len(ms) == 0 {
			return incident.Conflictf("a hotfix needs sign-off from %s, but that group has no members: `/incident signoff-group set %s @alice @bob`", name, name)
		}
		for _, m := range ms {
			if !slices.Contains(fixers, m) {
				eligible[i] = append(eligible[i], m)
			}
		}
		if len(eligible[i]) == 0 {
			return incident.Conflictf("%s has nobody but %s, and whoever requested or made a fix may not sign it off (four eyes): add a member with `/incident signoff-group set %s ...`",
				name, describe(ms), name)
		}
	}
	if unmatched := unmatchedGroup(required, eligible); unmatched != "" {
		return incident.Conflictf("the groups %s cannot each be signed by a different person: one person signs for one group per stage, and %s has nobody left; add members to the groups",
			strings.Join(required, ", "), unmatched)
	}
	return nil
}

// unmatchedGroup finds a group left without a signer when every group
// needs a different person (bipartite matching, augmenting paths; the sizes
// are tiny). It returns "" when every group can be matched.
func unmatchedGroup(groups []string, eligible [][]string) string {
	owner := map[string]int{} // user -> group index matched
	var try func(i int, seen map[string]bool) bool
	try = func(i int, seen map[string]bool) bool {
		for _, u := range eligible[i] {
			if seen[u] {
				continue
			}
			seen[u] = true
			if j, taken := owner[u]; !taken || try(j, seen) {
				owner[u] = i
				return true
			}
		}
		return false
	}
	for i := range groups {
		if !try(i, map[string]bool{}) {
			return groups[i]
		}
	}
	return ""
}

// describe lists a group's members as <@id> references.
func describe(ids []string) string {
	refs := make([]string, len(ids))
	for i, id := range ids {
		refs[i] = fmt.Sprintf("<@%s>", id)
	}
	return strings.Join(refs, ", ")
}
