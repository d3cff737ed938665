package archive

import "bytes"

// Mattermost ids (users, channels, teams, posts) are 26 characters of
// a-z and 0-9. The archive finds them in stored JSON as whole tokens:
// runs of those characters that are exactly 26 long. That finds them
// wherever the plugin keeps them (fields, map keys, lists, "<@id>" in
// text) without knowing each document's shape, and so keeps working for
// documents added later.
const idLen = 26

func idChar(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// eachToken calls fn with the bounds of every id-shaped token in raw.
func eachToken(raw []byte, fn func(i, j int)) {
	for i := 0; i < len(raw); {
		if !idChar(raw[i]) {
			i++
			continue
		}
		j := i
		for j < len(raw) && idChar(raw[j]) {
			j++
		}
		if j-i == idLen {
			fn(i, j)
		}
		i = j
	}
}

// postIDKey ends the JSON keys ("post_id", "card_post_id") under which
// the plugin keeps ids of posts: those name no user, channel or team, and
// looking each up for the directory would cost three server calls.
var postIDKey = []byte(`post_id":"`)

// Mentions calls fn with every id-shaped token in raw but those kept as
// post ids: the ids a directory should name.
func Mentions(raw []byte, fn func(id string)) {
	eachToken(raw, func(i, j int) {
		if !bytes.HasSuffix(raw[:i], postIDKey) {
			fn(string(raw[i:j]))
		}
	})
}

// EachID calls fn with every id-shaped token in raw.
func EachID(raw []byte, fn func(id string)) {
	eachToken(raw, func(i, j int) { fn(string(raw[i:j])) })
}

// Remap returns raw with every id-shaped token that m maps replaced by its
// value (another 26-character id), and whether anything changed. raw
// itself is not modified.
func Remap(raw []byte, m map[string]string) ([]byte, bool) {
	var out []byte
	eachToken(raw, func(i, j int) {
		if to, ok := m[string(raw[i:j])]; ok && len(to) == idLen && to != string(raw[i:j]) {
			if out == nil {
				out = append([]byte(nil), raw...)
			}
			copy(out[i:j], to)
		}
	})
	if out == nil {
		return raw, false
	}
	return out, true
}
