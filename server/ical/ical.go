// Package ical writes iCalendar (RFC 5545) feeds: a VCALENDAR of VEVENTs
// with UTC times, CRLF line endings, lines folded at 75 octets and text
// values escaped. It is pure formatting: callers compute the events (see
// app.CalendarFeed) and give each a stable UID (see UID), so that calendar
// apps update events on the next fetch rather than duplicate them.
package ical

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one VEVENT: [Start, End), written in UTC.
type Event struct {
	UID         string
	Summary     string
	Description string
	Categories  []string
	Start, End  time.Time
}

// Calendar is a feed.
type Calendar struct {
	ProdID string // e.g. "-//incidentbot//Incident Bot rota//EN"
	Name   string // X-WR-CALNAME, the name calendar apps show
	Events []Event
}

// utcLayout is the DATE-TIME form with the UTC designator (RFC 5545 3.3.5,
// form #2).
const utcLayout = "20060102T150405Z"

// maxLine is the longest content line in octets, CRLF excluded (RFC 5545
// 3.1).
const maxLine = 75

// UID derives a stable, globally unique event UID from parts (e.g. kind,
// role, user, period start) at domain: the same parts give the same UID on
// every fetch.
func UID(domain string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16]) + "@" + domain
}

// Stamp formats t as a UTC DATE-TIME.
func Stamp(t time.Time) string { return t.UTC().Format(utcLayout) }

// Marshal writes cal as an iCalendar object; stamp is every event's
// DTSTAMP (the time the feed was generated).
func Marshal(cal Calendar, stamp time.Time) []byte {
	var b strings.Builder
	line := func(name, value string) { writeFolded(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", Text(cal.ProdID))
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	if cal.Name != "" {
		line("X-WR-CALNAME", Text(cal.Name))
	}
	for _, e := range cal.Events {
		line("BEGIN", "VEVENT")
		line("UID", Text(e.UID))
		line("DTSTAMP", Stamp(stamp))
		line("DTSTART", Stamp(e.Start))
		line("DTEND", Stamp(e.End))
		line("SUMMARY", Text(e.Summary))
		if e.Description != "" {
			line("DESCRIPTION", Text(e.Description))
		}
		if len(e.Categories) > 0 {
			cs := make([]string, len(e.Categories))
			for i, c := range e.Categories {
				cs[i] = Text(c)
			}
			line("CATEGORIES", strings.Join(cs, ","))
		}
		line("TRANSP", "TRANSPARENT")
		line("END", "VEVENT")
	}
	line("END", "VCALENDAR")
	return []byte(b.String())
}

// Text escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon and
// comma are escaped, newlines become \n, and other control characters
// (which TEXT may not hold) are dropped.
func Text(s string) string {
	var b strings.Builder
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == ';':
			b.WriteString(`\;`)
		case r == ',':
			b.WriteString(`\,`)
		case r == '\n' || r == '\r':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeFolded writes one content line folded at 75 octets (RFC 5545 3.1):
// a CRLF followed by a space continues the line. It never splits a UTF-8
// sequence.
func writeFolded(b *strings.Builder, s string) {
	limit := maxLine
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = maxLine - 1 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}
