package incident

// Timeline events of monitoring alerts attached to an incident. Like every
// event type they are stored and must keep their meaning.
const (
	// EventAlertRepeated: an alert that opened (or was attached to) the
	// incident fired again. Note-like: it changes nothing but the timeline.
	EventAlertRepeated EventType = "alert_repeated"
	// EventAlertResolved: the monitoring system reports the alert resolved.
	// The incident stays as it is; people decide when it is over.
	EventAlertResolved EventType = "alert_resolved"
)

// Data keys of alert events.
const (
	DataAlertSource = "alert_source" // alertmanager or grafana
	DataFingerprint = "fingerprint"  // the alert's fingerprint
)
