package archive

import (
	"bytes"
	"strings"
	"testing"
)

const (
	alice = "aliceaaaaaaaaaaaaaaaaaaaaa" // 26 characters, as Mattermost ids are
	bob   = "bobbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestRemap(t *testing.T) {
	to := strings.Repeat("z", 26)
	raw := []byte(`{"a":"` + alice + `","t":"<@` + alice + `> and ` + alice + `x ` + bob + `","k":{"` + alice + `":1}}`)
	out, changed := Remap(raw, map[string]string{alice: to})
	want := `{"a":"` + to + `","t":"<@` + to + `> and ` + alice + `x ` + bob + `","k":{"` + to + `":1}}`
	if !changed || string(out) != want {
		t.Fatalf("Remap =\n%s\nwant\n%s", out, want)
	}
	if !bytes.Contains(raw, []byte(alice)) {
		t.Fatal("Remap changed its input")
	}
	if _, changed := Remap(raw, map[string]string{"nobody": to}); changed {
		t.Fatal("Remap changed something it had no mapping for")
	}
}

func TestMentionsLeavesPostsOut(t *testing.T) {
	raw := []byte(`{"card_post_id":"` + bob + `","roles":{"im":"` + alice + `"},"post_id":"` + bob + `"}`)
	var got []string
	Mentions(raw, func(id string) { got = append(got, id) })
	if strings.Join(got, ",") != alice {
		t.Fatalf("Mentions = %v, want only %s", got, alice)
	}
}
