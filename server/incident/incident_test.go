package incident

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 29, 0, 30, 0, 0, time.FixedZone("CET", 3600))

func started(t *testing.T, sev Severity) *Incident {
	t.Helper()
	inc := &Incident{ID: "abc234", Title: "DB down", Severity: sev}
	ev := inc.Start(t0, "u1")
	if ev.Type != EventStarted || ev.At.Location() != time.UTC || ev.Data[DataTo] != sev.String() {
		t.Fatalf("start event = %+v", ev)
	}
	return inc
}

func TestLifecycleHappyPath(t *testing.T) {
	inc := started(t, S2)
	if inc.Status != StatusOpen || !inc.CreatedAt.Equal(t0) || inc.HighestSeverity != S2 {
		t.Fatalf("after start: %+v", inc)
	}
	ev, err := inc.Mitigate(t0.Add(time.Minute), "u2")
	if err != nil || inc.Status != StatusMitigated || ev.Type != EventMitigated || ev.Actor != "u2" {
		t.Fatalf("mitigate: %v %+v", err, ev)
	}
	ev, err = inc.Resolve(t0.Add(2*time.Minute), "u3", "fixed the index")
	if err != nil || inc.Status != StatusResolved || ev.Data[DataFrom] != "mitigated" || inc.Resolution != "fixed the index" {
		t.Fatalf("resolve: %v %+v", err, ev)
	}
	if !inc.MitigatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("resolve must keep the earlier mitigation time, got %v", inc.MitigatedAt)
	}
	if _, err := inc.Reopen(t0.Add(3*time.Minute), "u1", "came back"); err != nil || inc.Status != StatusOpen || !inc.ResolvedAt.IsZero() {
		t.Fatalf("reopen: %v %+v", err, inc)
	}
}

func TestResolveFromOpenSetsMitigation(t *testing.T) {
	inc := started(t, S3)
	at := t0.Add(time.Hour)
	if _, err := inc.Resolve(at, "u1", ""); err != nil {
		t.Fatal(err)
	}
	if !inc.MitigatedAt.Equal(at) {
		t.Errorf("MitigatedAt = %v, want the resolve time %v", inc.MitigatedAt, at)
	}
}

func TestInvalidTransitionsAreConflicts(t *testing.T) {
	cases := []struct {
		name string
		prep func(*Incident)
		act  func(*Incident) error
		want string
	}{
		{"mitigate twice", func(i *Incident) { i.Mitigate(t0, "u") }, func(i *Incident) error { _, err := i.Mitigate(t0, "u"); return err }, "already mitigated"},
		{"mitigate resolved", func(i *Incident) { i.Resolve(t0, "u", "") }, func(i *Incident) error { _, err := i.Mitigate(t0, "u"); return err }, "reopen"},
		{"resolve twice", func(i *Incident) { i.Resolve(t0, "u", "") }, func(i *Incident) error { _, err := i.Resolve(t0, "u", ""); return err }, "already resolved"},
		{"reopen open", func(*Incident) {}, func(i *Incident) error { _, err := i.Reopen(t0, "u", ""); return err }, "not resolved"},
		{"severity same", func(*Incident) {}, func(i *Incident) error { _, err := i.ChangeSeverity(t0, "u", S2); return err }, "already S2"},
		{"severity resolved", func(i *Incident) { i.Resolve(t0, "u", "") }, func(i *Incident) error { _, err := i.ChangeSeverity(t0, "u", S1); return err }, "reopen"},
		{"update resolved", func(i *Incident) { i.Resolve(t0, "u", "") }, func(i *Incident) error { _, err := i.PostUpdate(t0, "u", "x"); return err }, "note"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inc := started(t, S2)
			c.prep(inc)
			before := *inc
			err := c.act(inc)
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a conflict mentioning %q", err, c.want)
			}
			if inc.Status != before.Status || inc.Severity != before.Severity {
				t.Errorf("a refused transition changed the incident: %+v -> %+v", before, *inc)
			}
		})
	}
}

func TestSeverityTracksHighest(t *testing.T) {
	inc := started(t, S3)
	for _, s := range []Severity{S1, S4} {
		if _, err := inc.ChangeSeverity(t0, "u", s); err != nil {
			t.Fatal(err)
		}
	}
	if inc.Severity != S4 || inc.HighestSeverity != S1 {
		t.Errorf("severity %v highest %v, want S4 and S1", inc.Severity, inc.HighestSeverity)
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]Severity{"S1": S1, "s2": S2, " 3 ": S3, "S4": S4} {
		if got, err := ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "S0", "S5", "sev1", "critical"} {
		if _, err := ParseSeverity(in); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "S1") {
			t.Errorf("ParseSeverity(%q) err = %v, want an invalid error naming the choices", in, err)
		}
	}
}

func TestCleanTitle(t *testing.T) {
	if got, err := CleanTitle("  DB   down\n in eu  "); err != nil || got != "DB down in eu" {
		t.Errorf("CleanTitle = %q, %v", got, err)
	}
	if _, err := CleanTitle("   "); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty title: %v", err)
	}
	if _, err := CleanTitle(strings.Repeat("é", MaxTitleRunes)); err != nil {
		t.Errorf("title at the limit refused: %v", err)
	}
	if _, err := CleanTitle(strings.Repeat("é", MaxTitleRunes+1)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "101") {
		t.Errorf("over-long title: %v", err)
	}
}

func TestErrorKinds(t *testing.T) {
	wrapped := errors.Join(errors.New("ctx"), NotFoundf("no incident #x"))
	if KindOf(wrapped) != KindNotFound || !errors.Is(wrapped, ErrNotFound) || errors.Is(wrapped, ErrConflict) {
		t.Errorf("kind lost through wrapping: %v", KindOf(wrapped))
	}
	if msg := UserMessage(errors.New("pq: connection refused")); strings.Contains(msg, "pq") {
		t.Errorf("internal detail leaked to the user: %q", msg)
	}
}
