package routing

import (
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestRulesRouteToTheFirstMatch(t *testing.T) {
	rules, err := Parse(`team=payments -> payments
alertname=PaymentsDown -> payments; label:service=web -> web
channel=~ops-eu -> eu; label:team=db -> dba
S1 -> majors; title:database -> dba`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 7 || !NeedsNames(rules) {
		t.Fatalf("parsed %d rules: %v", len(rules), rules)
	}
	for _, c := range []struct {
		in   Input
		want string
	}{
		{Input{Team: "Payments", Severity: incident.S1}, "payments"},
		{Input{Team: "web", Labels: map[string]string{"alertname": "PaymentsDown", "service": "web"}}, "payments"},
		{Input{Team: "web", Labels: map[string]string{"service": "web"}}, "web"},
		{Input{Team: "ops", Channel: "ops-eu"}, "eu"},
		{Input{Labels: map[string]string{"team": "db"}}, "dba"},
		{Input{Severity: incident.S1, Title: "Database down"}, "majors"},
		{Input{Severity: incident.S2, Title: "Database down"}, "dba"},
		{Input{Severity: incident.S2, Title: "Databases down"}, ""},
		{Input{Labels: map[string]string{"service": "Web"}}, ""},
	} {
		r, ok := Match(rules, c.in)
		if got := map[bool]string{true: r.Rota}[ok]; got != c.want {
			t.Errorf("Match(%+v) = %q (%s), want %q", c.in, got, r, c.want)
		}
	}
	for _, r := range rules {
		again, err := Parse(r.String())
		if err != nil || len(again) != 1 || again[0] != r {
			t.Errorf("%s does not read back: %v %v", r, again, err)
		}
	}
}

func TestBadRulesSayWhatIsWrong(t *testing.T) {
	for _, bad := range []string{"team=payments", "team=payments -> Pay Ments", "team= -> p", "S9 -> p", "label:=x -> p", "a b=c -> p"} {
		if _, err := Parse(bad); incident.KindOf(err) != incident.KindInvalid {
			t.Errorf("Parse(%q) = %v, want an invalid-input error", bad, err)
		}
	}
}
