package hosts

import (
	"net/netip"
	"testing"
)

func TestListDecidesHostsAndAddresses(t *testing.T) {
	if _, err := Parse("https://x.example"); err == nil {
		t.Error("a URL was taken for a host")
	}
	l, err := Parse("sms.example.com, *.gw.example; 127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"sms.example.com": true, "SMS.example.com.": true, "a.gw.example": true, "gw.example": false, "evil.com": false, "127.0.0.1": true} {
		if got := l.Listed(host); got != want {
			t.Errorf("Listed(%q) = %v", host, got)
		}
	}
	if l.Check("evil.com") == nil {
		t.Error("an unlisted host passed a non-empty list")
	}
	if !l.Dial("127.0.0.1", netip.MustParseAddr("127.0.0.1")) || l.Dial("evil.com", netip.MustParseAddr("8.8.8.8")) {
		t.Error("Dial with a list")
	}
	var none List
	for _, host := range []string{"10.1.2.3", "127.0.0.1", "169.254.169.254", "::1", "localhost"} {
		if none.Check(host) == nil {
			t.Errorf("internal %s passed an empty list", host)
		}
	}
	if none.Check("sms.example.com") != nil {
		t.Error("a public name refused by an empty list")
	}
	if none.Dial("sms.example.com", netip.MustParseAddr("10.0.0.1")) || !none.Dial("sms.example.com", netip.MustParseAddr("93.184.216.34")) {
		t.Error("Dial: a public name resolving internal must be refused, a public address allowed")
	}
}
