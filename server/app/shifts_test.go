package app

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/rota"
)

// at is an instant of the env's first rota week (t0's, from Monday
// 2026-11-02 09:00 UTC: lea is its first line, leo the next week's).
func at(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }

func firstLine(t *testing.T, e *costEnv, when time.Time) rota.Duty {
	t.Helper()
	_, st, err := e.app.Staffing(ctx, when)
	if err != nil {
		t.Fatal(err)
	}
	return st.Duties[incident.RoleL1]
}

func setRotaFlag(t *testing.T, e *costEnv, set func(r *rota.Rota)) {
	t.Helper()
	if _, _, _, err := e.app.EditRota(ctx, "root", func(v *RotaView, _ time.Time) ([]string, error) { set(v.Rota); return nil, nil }); err != nil {
		t.Fatal(err)
	}
}

// A member takes a shift at once; with approval on, a rota admin's button
// decides; an offer waits for another member of the role's rotation. Each
// change is in the history, and whose shift it was is on the duty.
func TestShiftsChangeHandsAsTheRotaAllows(t *testing.T) {
	e := newCostEnv(t)
	if d := firstLine(t, e, at(3, 12)); d.UserID != "lea" {
		t.Fatalf("first line on Nov 3 = %+v, want lea", d)
	}
	// Taken at once.
	res, err := e.app.TakeShift(ctx, "leo", "", incident.RoleL1, at(3, 9), at(4, 9))
	if err != nil || res.State != ShiftTaken || res.Request.For != "lea" {
		t.Fatalf("take: %+v, %v", res, err)
	}
	if d := firstLine(t, e, at(3, 12)); d.UserID != "leo" || d.Source != rota.SourceOverride || d.For != "lea" {
		t.Errorf("first line on Nov 3 after the take = %+v, want leo for lea", d)
	}
	if d := firstLine(t, e, at(4, 12)); d.UserID != "lea" {
		t.Errorf("first line on Nov 4 = %+v, want lea again", d)
	}
	if m := e.shift.messages("lea"); len(m) != 1 || !strings.Contains(m[0], "<@leo> took your First line shift") {
		t.Errorf("lea was told %q", m)
	}
	if _, err := e.app.TakeShift(ctx, "max", "", incident.RoleL1, at(5, 9), at(6, 9)); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("a second line member took a first line shift: %v", err)
	}
	if _, err := e.app.TakeShift(ctx, "leo", "", incident.RoleL1, at(1, 9), at(2, 9)); incident.KindOf(err) != incident.KindInvalid {
		t.Errorf("a shift in the past: %v", err)
	}

	// With approval: asked, then a rota admin approves.
	setRotaFlag(t, e, func(r *rota.Rota) { r.Approval = true })
	res, err = e.app.TakeShift(ctx, "leo", "", incident.RoleL1, at(5, 9), at(6, 9))
	if err != nil || res.State != ShiftAsked {
		t.Fatalf("take with approval: %+v, %v", res, err)
	}
	if d := firstLine(t, e, at(5, 12)); d.UserID != "lea" {
		t.Errorf("an unapproved take moved the duty: %+v", d)
	}
	v, _ := e.app.Rota(ctx)
	q, ok := v.Rota.Request(res.Request.ID)
	if !ok || q.PostID == "" {
		t.Fatalf("the request is not stored with its post: %+v", v.Rota.Requests)
	}
	if p, _ := e.shift.post(q.PostID); p.State != ShiftAsked || p.ChannelID != "rota" {
		t.Errorf("request post = %+v", p)
	}
	if _, err := e.app.AnswerShift(ctx, "lea", "", q.ID, ShiftApprove); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("a member approved: %v", err)
	}
	if res, err := e.app.AnswerShift(ctx, "root", "", q.ID, ShiftApprove); err != nil || res.State != ShiftTaken {
		t.Fatalf("approve: %+v, %v", res, err)
	}
	if d := firstLine(t, e, at(5, 12)); d.UserID != "leo" || d.For != "lea" {
		t.Errorf("first line on Nov 5 after approval = %+v", d)
	}
	if p, _ := e.shift.post(q.PostID); p.State != ShiftTaken || p.By != "root" {
		t.Errorf("decided post = %+v", p)
	}
	if _, err := e.app.AnswerShift(ctx, "root", "", q.ID, ShiftApprove); incident.KindOf(err) != incident.KindNotFound {
		t.Errorf("a second approval: %v", err)
	}
	// Declined.
	res, _ = e.app.TakeShift(ctx, "leo", "", incident.RoleL1, at(6, 9), at(7, 9))
	if res, err := e.app.AnswerShift(ctx, "root", "", res.Request.ID, ShiftDecline); err != nil || res.State != ShiftDeclined {
		t.Fatalf("decline: %+v, %v", res, err)
	}
	if d := firstLine(t, e, at(6, 12)); d.UserID != "lea" {
		t.Errorf("a declined take moved the duty: %+v", d)
	}
	if m := e.shift.messages("leo"); len(m) != 2 || !strings.Contains(m[1], "declined") {
		t.Errorf("leo was told %q", m)
	}

	// Offered by the member on duty, taken by another, approved.
	if _, err := e.app.OfferShift(ctx, "leo", "", incident.RoleL1, at(7, 9), at(8, 9)); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("someone not on duty offered the shift: %v", err)
	}
	off, err := e.app.OfferShift(ctx, "lea", "", incident.RoleL1, at(7, 9), at(8, 9))
	if err != nil || off.State != ShiftOffered {
		t.Fatalf("offer: %+v, %v", off, err)
	}
	if _, err := e.app.AnswerShift(ctx, "lea", "", off.Request.ID, ShiftTake); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("the offerer took their own offer: %v", err)
	}
	if res, err := e.app.AnswerShift(ctx, "leo", "", off.Request.ID, ShiftTake); err != nil || res.State != ShiftAsked {
		t.Fatalf("take an offer under approval: %+v, %v", res, err)
	}
	if _, err := e.app.AnswerShift(ctx, "max", "", off.Request.ID, ShiftTake); incident.KindOf(err) != incident.KindConflict {
		t.Errorf("a taken offer was taken again: %v", err)
	}
	if _, err := e.app.AnswerShift(ctx, "root", "", off.Request.ID, ShiftApprove); err != nil {
		t.Fatal(err)
	}
	if d := firstLine(t, e, at(7, 12)); d.UserID != "leo" {
		t.Errorf("first line on Nov 7 = %+v, want leo", d)
	}
	// Withdrawn by its asker only.
	setRotaFlag(t, e, func(r *rota.Rota) { r.Approval = false })
	off, _ = e.app.OfferShift(ctx, "lea", "", incident.RoleL1, at(8, 10), at(8, 12))
	if _, err := e.app.AnswerShift(ctx, "leo", "", off.Request.ID, ShiftWithdraw); incident.KindOf(err) != incident.KindForbidden {
		t.Errorf("someone else withdrew lea's offer: %v", err)
	}
	if res, err := e.app.AnswerShift(ctx, "lea", "", off.Request.ID, ShiftWithdraw); err != nil || res.State != ShiftWithdrawn {
		t.Fatalf("withdraw: %+v, %v", res, err)
	}

	history, open, err := e.app.RotaHistory(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 0 {
		t.Errorf("requests still open: %+v", open)
	}
	var texts []string
	for _, h := range history {
		texts = append(texts, h.Text)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"<@leo> took <@lea>'s First line shift from Tue 2026-11-03 09:00", "<@root> approved: <@leo> takes <@lea>'s",
		"<@root> declined", "<@lea> offered their First line shift", "<@lea> withdrew"} {
		if !strings.Contains(all, want) {
			t.Errorf("history lacks %q:\n%s", want, all)
		}
	}
	if !strings.Contains(texts[0], "withdrew") {
		t.Errorf("history is not newest first: %q", texts[0])
	}
}

// With duty notices on, each handoff run tells the people coming on duty
// the week after, once, and nobody who keeps their role.
func TestDutyNoticesTellTheNextWeeksPeopleOnce(t *testing.T) {
	e := newCostEnv(t)
	setRotaFlag(t, e, func(r *rota.Rota) { r.DutyNotice = true })
	e.app.Tick(ctx)
	e.app.Tick(ctx)
	for _, u := range []string{"leo", "ivy"} { // next week's first line and incident manager
		if m := e.shift.messages(u); len(m) != 1 || !strings.Contains(m[0], "Your duty next week") || !strings.Contains(m[0], "2026-11-09 09:00") {
			t.Errorf("%s was told %q", u, m)
		}
	}
	if m := e.shift.messages("leo"); len(m) == 1 && !strings.Contains(m[0], "/incident rota offer l1 2026-11-09 09:00 2026-11-16 09:00") {
		t.Errorf("leo's notice shows no offer command: %q", m[0])
	}
	for _, u := range []string{"lea", "ian", "max", "ned", "rob"} {
		if m := e.shift.messages(u); len(m) != 0 {
			t.Errorf("%s, not coming on duty, was told %q", u, m)
		}
	}
}
