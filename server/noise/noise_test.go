package noise

import (
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/routing"
)

func TestThresholdsParseMatchAndMeet(t *testing.T) {
	ts, err := Parse("alertname=DiskFlapping -> for 5m; label:service=batch -> 3 in 10m")
	if err != nil {
		t.Fatal(err)
	}
	if ts[0].String() != "label:alertname=DiskFlapping -> for 5m" || ts[1].String() != "label:service=batch -> 3 in 10m" {
		t.Errorf("rendered %q, %q", ts[0], ts[1])
	}
	for _, bad := range []string{"alertname=X", "alertname=X -> for soon", "alertname=X -> 1 in 5m", "alertname=X -> 3 in 48h", "nope -> for 5m"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	th, ok := Match(ts, routing.Input{Labels: map[string]string{"alertname": "DiskFlapping"}})
	if !ok || th.For != 5*time.Minute {
		t.Fatalf("match %+v %v", th, ok)
	}
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	if met, due := th.Met(t0, nil, t0.Add(4*time.Minute)); met || !due.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("for 5m after 4m: %v %s", met, due)
	}
	if met, _ := th.Met(t0, nil, t0.Add(5*time.Minute)); !met {
		t.Error("for 5m after 5m not met")
	}
	c := ts[1]
	seen := []time.Time{t0, t0.Add(9 * time.Minute), t0.Add(11 * time.Minute)}
	if met, _ := c.Met(t0, seen, t0.Add(11*time.Minute)); met {
		t.Error("3 in 10m met with the first outside the window")
	}
	if met, _ := c.Met(t0, append(seen, t0.Add(12*time.Minute)), t0.Add(12*time.Minute)); !met {
		t.Error("3 in 10m not met by three within ten minutes")
	}
}
