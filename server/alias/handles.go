package alias

import (
	"fmt"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// DefaultHandles is the default of the "On-duty handles" setting.
const DefaultHandles = "im=incident-manager, l1=first-line, l2=second-line, l3=third-line, rm=release-manager, rota=delivery-rota"

// DefaultGroupPattern is the default of the "Sign-off group handle"
// setting: the qa group's handle is @qa-signoff.
const DefaultGroupPattern = "{group}-signoff"

// groupPlaceholder stands for the group's name in a group pattern.
const groupPlaceholder = "{group}"

// Kind says what a handle stands for.
type Kind string

// Kinds of handle.
const (
	KindRole  Kind = "role"  // whoever is on duty for one role
	KindRota  Kind = "rota"  // everyone on duty, per role
	KindGroup Kind = "group" // a sign-off group's members
)

// Target is what a handle stands for.
type Target struct {
	Handle string
	Kind   Kind
	Role   incident.Role // KindRole
	Group  string        // KindGroup
	// Rota names the rota of a role or rota handle of a rota other than
	// the first ("<rota>-<role handle>", "<rota>-oncall"); "" = the first.
	Rota string
}

// OncallSuffix makes a rota's whole-rota handle: "<rota>-oncall".
const OncallSuffix = "-oncall"

// Handles are the configured handles. The zero value has none.
type Handles struct {
	// Roles maps each role with a handle to it.
	Roles map[incident.Role]string
	// Rota is the whole rota's handle ("" = none).
	Rota string
	// GroupPattern makes a sign-off group's handle: "{group}" is replaced
	// by the group's name ("" = no group handles).
	GroupPattern string
}

// ParseHandles reads the "On-duty handles" setting ("im=incident-manager,
// rm=release-manager, rota=delivery-rota") and the group pattern
// ("{group}-signoff"). A role left out has no handle; "role=" or
// "role=off" disables one explicitly. Handles must be valid names and
// distinct, and no role handle may look like a group handle.
func ParseHandles(spec, groupPattern string) (Handles, error) {
	h := Handles{Roles: map[incident.Role]string{}}
	seen := map[string]string{}
	for _, part := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' }) {
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return Handles{}, fmt.Errorf("%q is not like rm=release-manager", part)
		}
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(val), "@"))
		if key != "rota" {
			if _, err := incident.ParseRole(key); err != nil {
				return Handles{}, fmt.Errorf("%q: %s (or rota for the whole rota)", part, incident.UserMessage(err))
			}
		}
		if prev, dup := seen[key]; dup {
			return Handles{}, fmt.Errorf("%s is given twice (%s and %s)", key, prev, val)
		}
		seen[key] = val
		if val == "" || val == "off" {
			continue
		}
		if !ValidName(val) {
			return Handles{}, fmt.Errorf("%q is not a handle: use 3 to %d lower-case letters, digits, '.', '-' or '_', starting with a letter", val, MaxName)
		}
		if key == "rota" {
			h.Rota = val
		} else {
			role, _ := incident.ParseRole(key)
			h.Roles[role] = val
		}
	}
	names := map[string]bool{}
	for _, n := range h.names() {
		if names[n] {
			return Handles{}, fmt.Errorf("@%s names two things: give each role and the rota its own handle", n)
		}
		names[n] = true
	}
	groupPattern = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(groupPattern), "@"))
	if groupPattern != "" && groupPattern != "off" {
		if strings.Count(groupPattern, groupPlaceholder) != 1 {
			return Handles{}, fmt.Errorf("sign-off group handle %q: put {group} in it once, e.g. {group}-signoff", groupPattern)
		}
		if !ValidName(strings.Replace(groupPattern, groupPlaceholder, "qa", 1)) {
			return Handles{}, fmt.Errorf("sign-off group handle %q: besides {group}, use lower-case letters, digits, '.', '-' or '_'", groupPattern)
		}
		if groupPattern == groupPlaceholder {
			return Handles{}, fmt.Errorf("sign-off group handle %q: add something to {group}, e.g. {group}-signoff, so that a group's handle is not its bare name", groupPattern)
		}
		h.GroupPattern = groupPattern
		for _, n := range h.names() {
			if g, ok := h.groupOf(n); ok {
				return Handles{}, fmt.Errorf("@%s would also be the handle of sign-off group %q: change one of them", n, g)
			}
		}
	}
	return h, nil
}

// names lists the role and rota handles, roles in incident.Roles order.
func (h Handles) names() []string {
	var out []string
	for _, r := range incident.Roles {
		if n := h.Roles[r]; n != "" {
			out = append(out, n)
		}
	}
	if h.Rota != "" {
		out = append(out, h.Rota)
	}
	return out
}

// Names lists the role and rota handles (group handles depend on the
// groups defined).
func (h Handles) Names() []string { return h.names() }

// GroupHandle returns group's handle, or "" if groups have none.
func (h Handles) GroupHandle(group string) string {
	if h.GroupPattern == "" {
		return ""
	}
	return strings.Replace(h.GroupPattern, groupPlaceholder, group, 1)
}

// groupOf returns the group whose handle name would be, by the pattern.
func (h Handles) groupOf(name string) (string, bool) {
	if h.GroupPattern == "" {
		return "", false
	}
	pre, suf, _ := strings.Cut(h.GroupPattern, groupPlaceholder)
	if len(name) <= len(pre)+len(suf) || !strings.HasPrefix(name, pre) || !strings.HasSuffix(name, suf) {
		return "", false
	}
	return name[len(pre) : len(name)-len(suf)], true
}

// Resolve says what name (lower case, without "@") stands for. A group
// handle resolves by its shape alone; whether the group exists is for the
// caller to check.
func (h Handles) Resolve(name string) (Target, bool) {
	if name == "" {
		return Target{}, false
	}
	for _, r := range incident.Roles {
		if h.Roles[r] == name {
			return Target{Handle: name, Kind: KindRole, Role: r}, true
		}
	}
	if h.Rota == name {
		return Target{Handle: name, Kind: KindRota}, true
	}
	if g, ok := h.groupOf(name); ok {
		return Target{Handle: name, Kind: KindGroup, Group: g}, true
	}
	return Target{}, false
}

// ResolveIn is Resolve with the handles of the rotas other than the
// first: "<rota>-<role handle>" for a role, "<rota>-oncall" for the rota.
func (h Handles) ResolveIn(name string, rotas []string) (Target, bool) {
	if t, ok := h.Resolve(name); ok {
		return t, true
	}
	for _, r := range rotas {
		rest, ok := strings.CutPrefix(name, r+"-")
		if !ok || rest == "" {
			continue
		}
		if "-"+rest == OncallSuffix {
			return Target{Handle: name, Kind: KindRota, Rota: r}, true
		}
		for _, role := range incident.Roles {
			if h.Roles[role] == rest {
				return Target{Handle: name, Kind: KindRole, Role: role, Rota: r}, true
			}
		}
	}
	return Target{}, false
}

// MaybeRota reports whether name may be the handle of a rota other than
// the first, by its shape ("<something>-oncall", "<something>-<role
// handle>"): whether that rota exists is for the caller to check.
func (h Handles) MaybeRota(name string) bool {
	if strings.HasSuffix(name, OncallSuffix) && len(name) > len(OncallSuffix) {
		return true
	}
	for _, r := range incident.Roles {
		if n := h.Roles[r]; n != "" && strings.HasSuffix(name, "-"+n) && len(name) > len(n)+1 {
			return true
		}
	}
	return false
}

// Targets returns the handles among uses, with what each stands for, in
// the order used; rotas are the rotas other than the first.
func (h Handles) Targets(uses []Use, rotas ...string) []Target {
	var out []Target
	for _, u := range uses {
		if t, ok := h.ResolveIn(u.Name, rotas); ok {
			out = append(out, t)
		}
	}
	return out
}
