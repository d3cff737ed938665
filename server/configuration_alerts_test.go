package main

import (
	"strings"
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/alert"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestAlertSettings(t *testing.T) {
	c := &configuration{AlertmanagerToken: " secret ", AlertTeamName: " Ops "}
	c.SetDefaults()
	if err := c.parse(); err != nil {
		t.Fatal(err)
	}
	s := c.appSettings().Alerts
	if s.Tokens[alert.SourceAlertmanager] != "secret" || s.Tokens[alert.SourceGrafana] != "" {
		t.Errorf("tokens: %v", s.Tokens)
	}
	if s.TeamName != "ops" || s.SeverityLabel != "severity" || s.DefaultSeverity != incident.S3 || s.SeverityMap["critical"] != incident.S1 {
		t.Errorf("alert settings: %+v", s)
	}

	c = &configuration{AlertSeverityMap: "critical=S0"}
	c.SetDefaults()
	if err := c.parse(); err == nil || !strings.Contains(err.Error(), "Alert severity map") {
		t.Errorf("bad severity map accepted: %v", err)
	}
}
