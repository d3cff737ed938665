package incident

import (
	"fmt"
	"strings"
)

// Severity ranks an incident's impact. S1 is the most severe; the zero value
// is not a valid severity.
type Severity int

// Severities, most severe first.
const (
	S1 Severity = iota + 1
	S2
	S3
	S4
)

// Severities lists every valid severity, most severe first.
var Severities = []Severity{S1, S2, S3, S4}

// DefaultSeverity is used when the starter does not choose one.
const DefaultSeverity = S3

// ParseSeverity accepts S1..S4 in any case, with or without the S ("2").
func ParseSeverity(s string) (Severity, error) {
	t := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "S")
	switch t {
	case "1":
		return S1, nil
	case "2":
		return S2, nil
	case "3":
		return S3, nil
	case "4":
		return S4, nil
	}
	return 0, Invalidf("unknown severity %q: use S1 (critical), S2 (major), S3 (minor) or S4 (low)", s)
}

// Valid reports whether s is one of S1..S4.
func (s Severity) Valid() bool { return s >= S1 && s <= S4 }

// MoreSevereThan reports whether s ranks above o (S1 is above S2).
func (s Severity) MoreSevereThan(o Severity) bool { return s.Valid() && (!o.Valid() || s < o) }

func (s Severity) String() string {
	if !s.Valid() {
		return fmt.Sprintf("S?(%d)", int(s))
	}
	return fmt.Sprintf("S%d", int(s))
}

// Label is the human description shown beside the code.
func (s Severity) Label() string {
	switch s {
	case S1:
		return "critical"
	case S2:
		return "major"
	case S3:
		return "minor"
	case S4:
		return "low"
	}
	return "unknown"
}

// MarshalText stores a severity as "S1".."S4".
func (s Severity) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("marshal severity %d: out of range", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads "S1".."S4".
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
