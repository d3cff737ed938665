// Package postmortem renders an incident and its timeline as a Markdown
// postmortem: a header with the key times in UTC and a display time zone,
// the summary and impact, computed metrics (time to acknowledge, mitigate
// and resolve; pages; status updates against their cadence), the role
// ledger, the release freezes and hotfixes (when there were any), lessons,
// action items, participants, the status updates in full and the timeline
// as a table. An incident still in progress renders as a draft.
//
// The package is pure: it imports the standard library and the incident
// package only (a test keeps it so), does no I/O and reads no clock; the
// caller passes names, the time zone and "now". User text is made safe for
// Mattermost on the way out: mass mentions are neutralised, table cells
// cannot break their table, multi-line text is quoted. Split cuts a long
// postmortem into posts under Mattermost's post limit.
package postmortem
