package archive

import (
	"time"
)

// FormatName is the value of archive/format in every archive.
const FormatName = "mattermost-incident-bot archive"

// Version is the format version this code writes, and the newest it reads.
const Version = 1

// Meta describes an archive.
type Meta struct {
	ExportedAt time.Time `json:"exported_at"`
	// ExportedBy is the username of the admin who exported it.
	ExportedBy string `json:"exported_by,omitempty"`
	// Since is the --since of the export: incidents created before it are
	// not in the archive. Zero: every incident.
	Since         time.Time `json:"since,omitzero"`
	SiteURL       string    `json:"site_url,omitempty"`
	PluginVersion string    `json:"plugin_version,omitempty"`
	Incidents     int       `json:"incidents"`
	Events        int       `json:"events"`
	Docs          int       `json:"docs"`
}

// Directory names the users, channels and teams an archive mentions by
// id, so that another server can find its own ids for them.
type Directory struct {
	Users    map[string]User    `json:"users"`
	Channels map[string]Channel `json:"channels"`
	Teams    map[string]Team    `json:"teams"`
}

// User is a user as the archive names one.
type User struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name,omitempty"`
	Bot         bool   `json:"bot,omitempty"`
}

// Channel is a channel as the archive names one: by its team's name and
// its own, which a Mattermost bulk import keeps.
type Channel struct {
	Team        string `json:"team"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
}

// Team is a team as the archive names one.
type Team struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory {
	return &Directory{Users: map[string]User{}, Channels: map[string]Channel{}, Teams: map[string]Team{}}
}

// Known reports whether the directory names id as anything.
func (d *Directory) Known(id string) bool {
	_, u := d.Users[id]
	_, c := d.Channels[id]
	_, t := d.Teams[id]
	return u || c || t
}
