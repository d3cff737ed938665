// Package hosts decides which hosts the plugin may send pages to by
// webhook: a list the admins set, and no private, loopback or link-local
// address unless the list names its host. It is pure: the outbound adapter
// asks it about each address it is about to dial (so that a name that
// resolves to an internal address later is refused too), the app about a
// URL when someone registers it.
package hosts

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// List is the hosts allowed; empty allows every public host.
type List []string

// Parse reads "sms.example.com, *.gateways.example, 10.0.0.5".
func Parse(s string) (List, error) {
	var out List
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == ';' }) {
		h := strings.ToLower(strings.TrimSpace(f))
		name := strings.TrimPrefix(h, "*.")
		if name == "" || strings.ContainsAny(name, "/:@*") && net.ParseIP(name) == nil {
			return nil, fmt.Errorf("%q is not a host: give names such as sms.example.com or *.example.com, or addresses", f)
		}
		out = append(out, h)
	}
	return out, nil
}

// Listed reports whether host is named by the list (exactly, or under a
// "*." entry).
func (l List) Listed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range l {
		if suffix, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if host == h {
			return true
		}
	}
	return false
}

// Internal reports whether addr is loopback, private, link-local or
// otherwise not a public address.
func Internal(addr netip.Addr) bool {
	addr = addr.Unmap()
	return addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsUnspecified() || addr.IsMulticast() || addr.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(addr) // carrier-grade NAT
}

// Check says whether a webhook URL's host may be registered: listed, or,
// with no list, not an internal address literal.
func (l List) Check(host string) error {
	if l.Listed(host) {
		return nil
	}
	if len(l) > 0 {
		return incident.Invalidf("%s is not among the hosts pages may be sent to (setting \"Page webhook hosts\": %s); ask a system admin", host, strings.Join(l, ", "))
	}
	if addr, err := netip.ParseAddr(host); err == nil && Internal(addr) {
		return incident.Invalidf("%s is an internal address; pages go to one only when a system admin lists it in the setting \"Page webhook hosts\"", host)
	}
	if host == "localhost" {
		return incident.Invalidf("localhost is internal; pages go there only when a system admin lists it in the setting \"Page webhook hosts\"")
	}
	return nil
}

// Dial says whether an address that host resolved to may be dialled.
func (l List) Dial(host string, addr netip.Addr) bool {
	if l.Listed(host) {
		return true
	}
	return len(l) == 0 && !Internal(addr)
}
