package app

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// ArchiveSettings is the settings snapshot an archive carries: the
// plugin's configuration as the admin saved it, secrets removed, and the
// resolved values that reports need, so that an archive renders the same
// without the server that made it.
type ArchiveSettings struct {
	// Configuration is the plugin's settings section, secrets removed.
	Configuration map[string]any `json:"configuration,omitempty"`
	// DisplayTimeZone is the IANA zone postmortems show beside UTC.
	DisplayTimeZone string `json:"display_time_zone,omitempty"`
	// UpdateCadence is the status update target per severity, as Go
	// durations.
	UpdateCadence map[incident.Severity]string `json:"update_cadence,omitempty"`
}

// Snapshot returns the archive snapshot of s, with configuration (which
// must already be free of secrets).
func (s Settings) Snapshot(configuration map[string]any) []byte {
	snap := ArchiveSettings{Configuration: configuration, UpdateCadence: map[incident.Severity]string{}}
	if s.Location != nil {
		snap.DisplayTimeZone = s.Location.String()
	}
	for sev, d := range s.UpdateCadence {
		snap.UpdateCadence[sev] = d.String()
	}
	raw, _ := json.Marshal(snap) // maps of strings and JSON values always encode
	return raw
}

// SettingsFromArchive returns the settings reports need (time zone and
// update cadence) from an archive's snapshot.
func SettingsFromArchive(raw []byte) (Settings, error) {
	var snap ArchiveSettings
	s := Settings{Location: time.UTC, UpdateCadence: map[incident.Severity]time.Duration{}}
	if len(raw) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(raw, &snap); err != nil {
		return s, fmt.Errorf("read the archive's settings: %w", err)
	}
	if snap.DisplayTimeZone != "" {
		loc, err := time.LoadLocation(snap.DisplayTimeZone)
		if err != nil {
			return s, fmt.Errorf("the archive's display time zone %q: %w", snap.DisplayTimeZone, err)
		}
		s.Location = loc
	}
	for sev, v := range snap.UpdateCadence {
		d, err := time.ParseDuration(v)
		if err != nil {
			return s, fmt.Errorf("the archive's update cadence for %s, %q: %w", sev, v, err)
		}
		s.UpdateCadence[sev] = d
	}
	return s, nil
}
