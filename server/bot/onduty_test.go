package bot

import (
	"testing"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func TestGroupsSupported(t *testing.T) {
	for v, want := range map[string]bool{"6.7.2": false, "10.6.9": false, "10.7.0": true, "10.10.1": true, "11.8.0": true,
		"v10.7.0": true, "10.7.0-rc1": true, "": false, "x.y": false, "9": false, "10.7-rc1": true} {
		if got := GroupsSupported(v); got != want {
			t.Errorf("GroupsSupported(%q) = %v, want %v", v, got, want)
		}
	}
	b := New(nil, "p", "bot")
	if mode := b.EnableGroupSync("6.7.2"); mode != "answers" || b.GroupSync() {
		t.Errorf("6.7.2: mode %s, sync %v", mode, b.GroupSync())
	}
	if mode := b.EnableGroupSync("10.7.0"); mode != "groups" || !b.GroupSync() {
		t.Errorf("10.7.0: mode %s, sync %v", mode, b.GroupSync())
	}
}

func TestBoardLine(t *testing.T) {
	board := &app.Board{Holders: map[incident.Role]string{incident.RoleIM: "a", incident.RoleL1: "b", incident.RoleRM: "e"}}
	line := BoardLine(board, func(id string) string { return "@\u200b" + id })
	want := boardMarker + "On duty: IM @\u200ba · L1 @\u200bb · L2 — · L3 — · RM @\u200be"
	if line != want {
		t.Fatalf("BoardLine = %q", line)
	}
	cases := []struct{ header, want string }{
		{"", want},
		{"Runbooks: https://x", want + "\nRunbooks: https://x"},
		{boardMarker + "On duty: old\nRunbooks: https://x", want + "\nRunbooks: https://x"},
		{"Runbooks\n" + boardMarker + "On duty: old", "Runbooks\n" + want},
	}
	for _, c := range cases {
		if got := WithBoardLine(c.header, line); got != c.want {
			t.Errorf("WithBoardLine(%q) = %q, want %q", c.header, got, c.want)
		}
		if again := WithBoardLine(c.want, line); again != c.want {
			t.Errorf("not stable: %q", again)
		}
	}
}
