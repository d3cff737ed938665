package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// hotfixStart is a winter time, CET in Berlin.
var hotfixStart = time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)

// hotfixAt is hotfixStart plus h hours and m minutes.
func hotfixAt(h, m int) time.Time {
	return hotfixStart.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// Hotfix events as the app records them.

func hotfixRequested(at time.Time, by string, n, author, rm, groups, why, text string) incident.Event {
	e := ev(at, by, incident.EventHotfixRequested, text, incident.DataHotfix, n, incident.DataAuthor, author, incident.DataRM, rm, incident.DataGroups, groups)
	if why != "" {
		e = e.With(incident.DataWhy, why)
	}
	return e
}

func hotfixSigned(at time.Time, by, n, stage, group, verdict, reason string) incident.Event {
	return ev(at, by, incident.EventHotfixSigned, reason, incident.DataHotfix, n, incident.DataStage, stage, incident.DataGroup, group, incident.DataVerdict, verdict)
}

func hotfixStageDone(at time.Time, n, stage string) incident.Event {
	return ev(at, incident.ActorSystem, incident.EventHotfixStageDone, "", incident.DataHotfix, n, incident.DataStage, stage)
}

// hotfixScenario is a resolved S1 incident with a release freeze for as
// long as it was open and two hotfixes: the first rejected by qa in
// staging, the second (made by someone else than its requester, with a
// substitute release manager) approved by qa and support in staging,
// deployed, and approved by both after deploy.
func hotfixScenario(t *testing.T) Input {
	t.Helper()
	const (
		staging = incident.StageStaging
		after   = incident.StageAfterDeploy
		ok      = incident.VerdictApproved
		no      = incident.VerdictRejected
		sys     = incident.ActorSystem
	)
	tl := &timeline{t: t}
	inc := &incident.Incident{ID: "pay001", Title: "Card payments failing", Severity: incident.S1}
	tl.add(inc.Start(hotfixStart, "ualice"))
	tl.must(inc.AssignRole(hotfixStart, sys, incident.RoleRM, "ugrace", "rota", nil))
	tl.add(ev(hotfixStart, sys, incident.EventFreezeStarted, "S1 incident open: releases are frozen"))
	tl.add(hotfixRequested(hotfixAt(0, 20), "udave", "1", "udave", "ugrace", "qa,support", "",
		"Retry failed card authorisations with a backoff.\nBehind the flag `pay_retry`."))
	tl.add(hotfixSigned(hotfixAt(0, 45), "ufrank", "1", staging, "qa", no, "Retries double-charge cards in the staging sandbox."))
	tl.add(hotfixRequested(hotfixAt(0, 50), "ualice", "2", "ucarol", "uerin", "qa,support",
		"<@ugrace> is in the air until 14:00; <@uerin> is next available in the Release manager rota",
		"Roll back the card-token cache to 7.3.1"))
	tl.add(hotfixSigned(hotfixAt(1, 5), "ufrank", "2", staging, "qa", ok, ""))
	tl.add(hotfixSigned(hotfixAt(1, 12), "ubob", "2", staging, "support", ok, ""))
	tl.add(hotfixStageDone(hotfixAt(1, 12), "2", staging))
	tl.add(ev(hotfixAt(1, 20), "uerin", incident.EventHotfixDeployed, "", incident.DataHotfix, "2"))
	tl.add(hotfixSigned(hotfixAt(1, 35), "ufrank", "2", after, "qa", ok, ""))
	tl.must(inc.Mitigate(hotfixAt(1, 40), "ualice"))
	tl.add(hotfixSigned(hotfixAt(1, 41), "ubob", "2", after, "support", ok, ""))
	tl.add(hotfixStageDone(hotfixAt(1, 41), "2", after))
	tl.must(inc.Resolve(hotfixAt(2, 0), "ualice", "Rolled the card-token cache back."))
	tl.add(ev(hotfixAt(2, 0), sys, incident.EventFreezeEnded, "the incident was resolved"))
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return Input{Incident: inc, Timeline: tl.evs, Cadence: 30 * time.Minute, Location: loc, Name: name, Now: hotfixAt(3, 0)}
}

// until keeps the events up to at and makes the incident a draft measured
// at now.
func until(in Input, at, now time.Time) Input {
	var evs []incident.Event
	for _, e := range in.Timeline {
		if !e.At.After(at) {
			evs = append(evs, e)
		}
	}
	inc := *in.Incident
	inc.Status, inc.ResolvedAt, inc.Resolution = incident.StatusOpen, time.Time{}, ""
	in.Incident, in.Timeline, in.Now = &inc, evs, now
	return in
}

// section returns the "## Release and hotfix" section of md, "" if none.
func releaseSection(md string) string {
	i := strings.Index(md, "## Release and hotfix\n")
	if i < 0 {
		return ""
	}
	s := md[i:]
	if j := strings.Index(s[1:], "\n## "); j >= 0 {
		s = s[:j+2]
	}
	return s
}

func TestReleaseSection(t *testing.T) {
	tests := []struct {
		name string
		in   func(t *testing.T) Input
		want []string // lines or parts of the section, in order
		not  []string
	}{{
		name: "two hotfixes, a freeze",
		in:   hotfixScenario,
		want: []string{
			"## Release and hotfix\n\n### Release freeze\n\n- From 2026-03-12 09:00:00 UTC to 2026-03-12 11:00:00 UTC: 2h\n\n",
			"### Hotfix 1: rejected in staging\n\n> Retry failed card authorisations with a backoff.\n> Behind the flag `pay_retry`.\n\n",
			"- **Requested:** by @dave at 2026-03-12 09:20:00 UTC\n- **Release manager:** @grace\n- **Sign-off groups:** qa, support\n",
			"- **Staging:** rejected at 2026-03-12 09:45:00 UTC\n" +
				"  - **qa**: rejected by @frank at 2026-03-12 09:45:00 UTC: Retries double-charge cards in the staging sandbox.\n" +
				"  - **support**: not signed\n" +
				"- **After deploy:** not reached\n" +
				"- **Deployed:** not deployed\n" +
				"- **Outcome:** rejected in staging by @frank at 2026-03-12 09:45:00 UTC: Retries double-charge cards in the staging sandbox.\n",
			"### Hotfix 2: signed off\n\n> Roll back the card-token cache to 7.3.1\n\n",
			"- **Requested:** by @alice at 2026-03-12 09:50:00 UTC\n- **Fix by:** @carol\n",
			"- **Release manager:** @erin\n- **Release manager substitution:** @grace is in the air until 14:00; @erin is next available in the Release manager rota\n",
			"- **Staging:** complete at 2026-03-12 10:12:00 UTC\n" +
				"  - **qa**: approved by @frank at 2026-03-12 10:05:00 UTC\n" +
				"  - **support**: approved by @bob at 2026-03-12 10:12:00 UTC\n" +
				"- **After deploy:** complete at 2026-03-12 10:41:00 UTC\n" +
				"  - **qa**: approved by @frank at 2026-03-12 10:35:00 UTC\n" +
				"  - **support**: approved by @bob at 2026-03-12 10:41:00 UTC\n" +
				"- **Deployed:** by @erin at 2026-03-12 10:20:00 UTC\n" +
				"- **Time from request to deploy:** 30m\n" +
				"- **Outcome:** signed off after deploy at 2026-03-12 10:41:00 UTC\n",
		},
		not: []string{"still in force", "in progress", "Fix by:** @dave"},
	}, {
		name: "draft: freeze in force, hotfix 2 deployed and waiting for sign-off",
		in: func(t *testing.T) Input {
			return until(hotfixScenario(t), hotfixAt(1, 35), hotfixAt(1, 40))
		},
		want: []string{
			"- From 2026-03-12 09:00:00 UTC, still in force: 1h 40m so far\n",
			"### Hotfix 2: in progress\n",
			"- **After deploy:** waiting for sign-off\n  - **qa**: approved by @frank at 2026-03-12 10:35:00 UTC\n  - **support**: not signed\n",
			"- **Time from request to deploy:** 30m\n- **Outcome:** still in progress, waiting for sign-off after deploy\n",
		},
		not: []string{"signed off after deploy at"},
	}, {
		name: "draft: hotfix 2 in staging, then ready to deploy",
		in: func(t *testing.T) Input {
			return until(hotfixScenario(t), hotfixAt(1, 5), hotfixAt(1, 6))
		},
		want: []string{
			"- **Staging:** waiting for sign-off\n  - **qa**: approved by @frank at 2026-03-12 10:05:00 UTC\n  - **support**: not signed\n- **After deploy:** waiting for the deploy\n- **Deployed:** not deployed\n- **Outcome:** still in progress, waiting for sign-off in staging\n",
		},
	}, {
		name: "cancelled, rejected after deploy, freeze start missing, several freezes",
		in: func(t *testing.T) Input {
			in := hotfixScenario(t)
			evs := []incident.Event{
				ev(hotfixAt(0, 0), incident.ActorSystem, incident.EventFreezeEnded, ""),
				ev(hotfixAt(0, 10), incident.ActorSystem, incident.EventFreezeStarted, ""),
				ev(hotfixAt(0, 40), incident.ActorSystem, incident.EventFreezeEnded, ""),
				hotfixRequested(hotfixAt(0, 1), "udave", "3", "", "", "qa", "", ""),
				ev(hotfixAt(0, 2), "udave", incident.EventHotfixCancelled, "Superseded by hotfix 4.", incident.DataHotfix, "3"),
				hotfixRequested(hotfixAt(0, 3), "udave", "4", "udave", "ugrace", "qa", "", "Raise the pool size"),
				hotfixSigned(hotfixAt(0, 4), "ufrank", "4", incident.StageStaging, "qa", incident.VerdictApproved, ""),
				hotfixStageDone(hotfixAt(0, 4), "4", incident.StageStaging),
				ev(hotfixAt(0, 5), "ugrace", incident.EventHotfixDeployed, "", incident.DataHotfix, "4"),
				hotfixSigned(hotfixAt(0, 6), "ufrank", "4", incident.StageAfterDeploy, "qa", incident.VerdictRejected, ""),
			}
			in.Timeline = append(in.Timeline[:2:2], evs...) // drop the scenario's own hotfixes and freeze
			return in
		},
		want: []string{
			"- Until 2026-03-12 09:00:00 UTC; its start is not on the timeline\n- From 2026-03-12 09:10:00 UTC to 2026-03-12 09:40:00 UTC: 30m\n\n",
			"### Hotfix 3: cancelled\n\n_No description was given._\n\n- **Requested:** by @dave at 2026-03-12 09:01:00 UTC\n- **Release manager:** none\n- **Sign-off groups:** qa\n" +
				"- **Staging:** not complete\n  - **qa**: not signed\n- **After deploy:** not reached\n- **Deployed:** not deployed\n" +
				"- **Outcome:** cancelled by @dave at 2026-03-12 09:02:00 UTC: Superseded by hotfix 4.\n",
			"### Hotfix 4: rejected after deploy\n",
			"- **After deploy:** rejected at 2026-03-12 09:06:00 UTC\n  - **qa**: rejected by @frank at 2026-03-12 09:06:00 UTC\n- **Deployed:** by @grace at 2026-03-12 09:05:00 UTC\n- **Time from request to deploy:** 2m\n- **Outcome:** rejected after deploy by @frank at 2026-03-12 09:06:00 UTC\n",
		},
		not: []string{"In total"},
	}, {
		name: "a freeze only",
		in: func(t *testing.T) Input {
			in := hotfixScenario(t)
			var evs []incident.Event
			for _, e := range in.Timeline {
				if !strings.HasPrefix(string(e.Type), "hotfix_") {
					evs = append(evs, e)
				}
			}
			in.Timeline = evs
			return in
		},
		want: []string{"## Release and hotfix\n\n### Release freeze\n\n- From 2026-03-12 09:00:00 UTC to 2026-03-12 11:00:00 UTC: 2h\n\n## Lessons"},
		not:  []string{"### Hotfix"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := Render(tt.in(t))
			checkSafe(t, md)
			sec := releaseSection(md)
			if sec == "" {
				t.Fatalf("no release section in\n%s", md)
			}
			rest := md[strings.Index(md, sec):]
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("the section lacks, after the previous wants, %q\nsection:\n%s", w, sec)
					continue
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tt.not {
				if strings.Contains(sec, w) {
					t.Errorf("the section holds %q:\n%s", w, sec)
				}
			}
		})
	}
}

// TestReleaseSectionPlace: the section comes after the roles and before
// the lessons, and the metrics do not change.
func TestReleaseSectionPlace(t *testing.T) {
	in := hotfixScenario(t)
	md := Render(in)
	roles, rel, lessons := strings.Index(md, "\n## Roles\n"), strings.Index(md, "\n## Release and hotfix\n"), strings.Index(md, "\n## Lessons and contributing factors\n")
	if !(roles >= 0 && roles < rel && rel < lessons) {
		t.Errorf("sections out of order: roles %d, release %d, lessons %d", roles, rel, lessons)
	}
	metrics := func(md string) string {
		i, j := strings.Index(md, "## Metrics\n"), strings.Index(md, "## Roles\n")
		return md[i:j]
	}
	var plain []incident.Event
	for _, e := range in.Timeline {
		if !strings.HasPrefix(string(e.Type), "hotfix_") && !strings.HasPrefix(string(e.Type), "release_freeze_") {
			plain = append(plain, e)
		}
	}
	in.Timeline = plain
	if got, want := metrics(md), metrics(Render(in)); got != want {
		t.Errorf("hotfix events change the metrics:\n%s\nwithout them:\n%s", got, want)
	}
}

// TestNoReleaseSectionWithoutHotfixes: incidents without hotfix or freeze
// events have no release section.
func TestNoReleaseSectionWithoutHotfixes(t *testing.T) {
	for name, in := range map[string]Input{"draft": draftScenario(t), "empty": {}, "big": bigInput(500)} {
		if md := Render(in); strings.Contains(md, "Release and hotfix") || strings.Contains(md, "Release freeze") {
			t.Errorf("%s: a release section without hotfix events:\n%s", name, releaseSection(md))
		}
	}
	// A hotfix event without a number is left to the timeline.
	in := draftScenario(t)
	in.Timeline = append(in.Timeline, ev(draftStart.Add(time.Minute), "ubob", incident.EventHotfixDeployed, ""))
	md := Render(in)
	if strings.Contains(md, "## Release and hotfix") {
		t.Errorf("a hotfix without a number has a section:\n%s", releaseSection(md))
	}
	if !strings.Contains(md, "| @bob | Hotfix deployed |") {
		t.Errorf("a hotfix event without a number is not in the timeline:\n%s", md)
	}
}

func TestDescribeHotfixEvents(t *testing.T) {
	t0 := hotfixStart
	r := newRenderer(Input{Name: name})
	for _, tt := range []struct {
		e    incident.Event
		want string
	}{
		{hotfixRequested(t0, "udave", "1", "udave", "ugrace", "qa", "", "Roll back\nthe cache"), "Hotfix 1 requested: Roll back the cache"},
		{hotfixSigned(t0, "ufrank", "1", incident.StageStaging, "qa", incident.VerdictApproved, ""), "qa approved staging (hotfix 1)"},
		{hotfixSigned(t0, "ufrank", "1", incident.StageAfterDeploy, "qa", incident.VerdictRejected, "Errors up 3%"), "qa rejected after deploy (hotfix 1): Errors up 3%"},
		{hotfixStageDone(t0, "1", incident.StageStaging), "Staging signed off (hotfix 1)"},
		{hotfixStageDone(t0, "1", incident.StageAfterDeploy), "Hotfix 1 signed off after deploy"},
		{ev(t0, "ugrace", incident.EventHotfixDeployed, "", incident.DataHotfix, "1"), "Hotfix 1 deployed"},
		{ev(t0, "udave", incident.EventHotfixCancelled, "Not needed", incident.DataHotfix, "2"), "Hotfix 2 cancelled: Not needed"},
		{ev(t0, "udave", incident.EventHotfixCancelled, "", incident.DataHotfix, "2"), "Hotfix 2 cancelled"},
		{ev(t0, incident.ActorSystem, incident.EventFreezeStarted, "<@ualice>'s S1 is open"), "Release freeze started: @alice's S1 is open"},
		{ev(t0, incident.ActorSystem, incident.EventFreezeEnded, ""), "Release freeze ended"},
	} {
		if got := r.describe(tt.e, 0); got != tt.want {
			t.Errorf("describe(%s) = %q, want %q", tt.e.Type, got, tt.want)
		}
	}
}

// TestReleaseSectionKeepsHostileTextInItsPlace: descriptions, reasons and
// group names cannot mention everyone, break a table or open a block.
func TestReleaseSectionKeepsHostileTextInItsPlace(t *testing.T) {
	hostile := "@channel | @HERE\n```\n## Fake heading\n| a | b |\n|---|---|\nend \\| @all-hands \\"
	in := hotfixScenario(t)
	in.Timeline = append(in.Timeline,
		hotfixRequested(hotfixAt(2, 10), "udave", "3", "udave", "ugrace", "qa,@here | x\n## g", hostile, hostile),
		hotfixSigned(hotfixAt(2, 11), "ufrank", "3", incident.StageStaging, "@channel | y", incident.VerdictRejected, hostile),
		ev(hotfixAt(2, 12), "udave", incident.EventHotfixCancelled, hostile, incident.DataHotfix, "3"),
		ev(hotfixAt(2, 13), incident.ActorSystem, incident.EventFreezeStarted, hostile),
	)
	md := Render(in)
	checkSafe(t, md)
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "## Fake") || strings.HasPrefix(l, "```") || strings.HasPrefix(l, "## g") {
			t.Errorf("user text escaped its place: %q", l)
		}
	}
	if !strings.Contains(md, "### Hotfix 3: rejected in staging") {
		t.Errorf("no hotfix 3:\n%s", releaseSection(md))
	}
}
