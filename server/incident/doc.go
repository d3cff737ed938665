// Package incident is the domain core of the incident bot: incidents, their
// severities and lifecycle, typed timeline events, error kinds and the Store
// port that every storage backend implements.
//
// It imports only the standard library. Everything Mattermost-, bbolt- or
// cron-specific lives in adapters that depend on this package, never the
// other way round.
package incident
