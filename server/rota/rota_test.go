package rota

import (
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Fixtures shared by the tests: a Berlin rota handing over on Mondays at
// 09:00, week 0 starting Monday 2 March 2026 09:00 CET.
var (
	mon = weekly{time.Monday, 9, 0, berlin, false}
	a0  = utc(2026, 3, 2, 8, 0)
)

const (
	im = incident.RoleIM
	l1 = incident.RoleL1
	l2 = incident.RoleL2
	l3 = incident.RoleL3
	rm = incident.RoleRM
)

// week returns the start of week k of mon from a0.
func week(k int) time.Time {
	t := a0
	for ; k > 0; k-- {
		t = mon.Next(t)
	}
	for ; k < 0; k++ {
		t, _ = lastHandoff(mon, t.Add(-time.Nanosecond))
	}
	return t
}

// in returns an instant inside week k: Wednesday noon, give or take.
func in(k int) time.Time { return week(k).Add(51 * time.Hour) }

func newRota(members map[incident.Role][]string) *Rota {
	return &Rota{Members: members, Anchor: a0}
}

func isKind(err error, k incident.Kind) bool { return err != nil && incident.KindOf(err) == k }
func isInvalid(err error) bool               { return errors.Is(err, incident.ErrInvalid) }

// names renders user ids as @id, as the adapter renders @username.
func names(id string) string { return "@" + id }

func TestWeekFixture(t *testing.T) {
	for k := -3; k <= 40; k++ {
		if got, _, _ := WeekOf(mon, a0, in(k)); got != k {
			t.Fatalf("in(%d) is in week %d", k, got)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	r := newRota(map[incident.Role][]string{im: {"a", "b"}})
	r.Offset = map[incident.Role]int{im: 1}
	r.Overrides = []Override{{Role: im, UserID: "z", From: in(0), To: in(1)}}
	r.Swaps = []Swap{{Role: im, A: "a", B: "b", Week: week(0)}}
	r.Away = []Away{{UserID: "a", From: in(0), To: in(1)}}
	c := r.Clone()
	if !reflect.DeepEqual(r, c) {
		t.Fatalf("clone differs: %+v", c)
	}
	c.Members[im][0], c.Offset[im] = "x", 2
	c.Overrides[0].UserID, c.Swaps[0].A, c.Away[0].UserID = "x", "x", "x"
	if r.Members[im][0] != "a" || r.Offset[im] != 1 || r.Overrides[0].UserID != "z" || r.Swaps[0].A != "a" || r.Away[0].UserID != "a" {
		t.Errorf("editing the clone changed the original: %+v", r)
	}
}

// TestJSONRoundTrip: a stored rota loses time.Location (times come back
// with fixed offsets) but answers every question the same.
func TestJSONRoundTrip(t *testing.T) {
	r := newRota(map[incident.Role][]string{im: {"a", "b", "c"}, l2: {"d", "e"}})
	r.Offset = map[incident.Role]int{im: 2}
	r.Overrides = []Override{{Role: l2, UserID: "z", From: in(3), To: in(3).Add(time.Hour), By: "admin"}}
	r.Swaps = []Swap{{Role: im, A: "a", B: "c", Week: week(2)}}
	r.Away = []Away{{UserID: "b", From: in(5), To: in(6)}}
	r.Anchor = r.Anchor.In(berlin)
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Rota
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	for k := -2; k < 10; k++ {
		for _, at := range []time.Time{week(k), in(k), in(3).Add(30 * time.Minute)} {
			if a, b := r.Assign(mon, at, Policy{}), back.Assign(mon, at, Policy{}); !reflect.DeepEqual(a.Holders, b.Holders) {
				t.Fatalf("at %v: %v before storing, %v after", at, a.Holders, b.Holders)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	good := newRota(map[incident.Role][]string{im: {"a", "b"}})
	good.Overrides = []Override{{Role: im, UserID: "z", From: in(0), To: in(1)}}
	good.Swaps = []Swap{{Role: im, A: "a", B: "b", Week: week(0)}}
	good.Away = []Away{{UserID: "a", From: in(0), To: in(1)}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid rota: %v", err)
	}
	if err := (&Rota{}).Validate(); err != nil {
		t.Fatalf("zero rota: %v", err)
	}
	bad := map[string]func(r *Rota){
		"unknown role":       func(r *Rota) { r.Members["boss"] = []string{"a"} },
		"duplicate member":   func(r *Rota) { r.Members[im] = []string{"a", "a"} },
		"empty member":       func(r *Rota) { r.Members[im] = []string{""} },
		"offset of unknown":  func(r *Rota) { r.Offset = map[incident.Role]int{"boss": 1} },
		"override backwards": func(r *Rota) { r.Overrides[0].To = r.Overrides[0].From },
		"swap with self":     func(r *Rota) { r.Swaps[0].B = "a" },
		"away without user":  func(r *Rota) { r.Away[0].UserID = "" },
		"too many away": func(r *Rota) {
			for range MaxEntries {
				r.Away = append(r.Away, r.Away[0])
			}
		},
		"away with zero time": func(r *Rota) { r.Away[0].From = time.Time{} },
	}
	for name, spoil := range bad {
		t.Run(name, func(t *testing.T) {
			r := good.Clone()
			spoil(r)
			if err := r.Validate(); !isInvalid(err) {
				t.Errorf("Validate = %v, want an invalid error", err)
			}
		})
	}
}

// TestImportsStayPure enforces the package's dependency rule: the standard
// library and the incident package only, no Mattermost, cron or bbolt.
func TestImportsStayPure(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const own = "github.com/incidentbot/mattermost-incident-bot/server/incident"
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if path != own && strings.Contains(first, ".") {
				t.Errorf("%s imports %s: package rota may import only the standard library and %s", name, path, own)
			}
		}
	}
}
