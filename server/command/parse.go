package command

import (
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"strings"
	"unicode"
)

// Call is one parsed invocation of /incident.
type Call struct {
	UserID    string
	ChannelID string
	TeamID    string
	TriggerID string
	SiteURL   string
	Verb      string
	// Rest is everything after the verb, spacing and newlines kept, so
	// free text (updates, notes) reaches the timeline as typed.
	Rest string
	// Rota is the rota a rota command names with --rota ("": the first).
	Rota string
}

// takeRotaFlag removes "--rota <name>" from rest, wherever it stands,
// and returns the name.
func takeRotaFlag(rest string) (string, string, error) {
	fields := strings.Fields(rest)
	for i, f := range fields {
		if !strings.EqualFold(f, "--rota") {
			continue
		}
		if i+1 >= len(fields) || strings.HasPrefix(fields[i+1], "--") {
			return "", "", incident.Invalidf("--rota needs a rota's name after it: `/incident rota list` shows them")
		}
		name := strings.ToLower(fields[i+1])
		return strings.Join(append(fields[:i:i], fields[i+2:]...), " "), name, nil
	}
	return rest, "", nil
}

// Parse splits "/incident verb rest..." into a Call's Verb and Rest.
func Parse(text string) (verb, rest string) {
	text = strings.TrimLeftFunc(text, unicode.IsSpace)
	if strings.HasPrefix(text, "/") {
		_, text, _ = cutSpace(text) // drop the trigger
	}
	verb, rest, _ = cutSpace(text)
	return strings.ToLower(verb), strings.TrimSpace(rest)
}

// cutSpace splits s at its first run of white space.
func cutSpace(s string) (before, after string, found bool) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, "", false
	}
	return s[:i], strings.TrimLeftFunc(s[i:], unicode.IsSpace), true
}

// takeRef removes a leading "#id" incident reference from rest.
func takeRef(rest string) (ref, remaining string) {
	first, after, _ := cutSpace(rest)
	if len(first) > 1 && first[0] == '#' && isID(first[1:]) {
		return first[1:], after
	}
	return "", rest
}

// takeBareRef accepts "id" or "#id" as the whole argument, for commands
// whose only argument is an incident.
func takeBareRef(rest string) (ref, remaining string) {
	first, after, _ := cutSpace(rest)
	id := strings.TrimPrefix(first, "#")
	if isID(id) {
		return id, after
	}
	return "", rest
}

func isID(s string) bool {
	if len(s) < 4 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// flags splits "words --name value words --other v" into the leading
// positional words and each flag's value (all words up to the next flag).
// Unknown flag names are reported, not guessed at.
func flags(rest string, known ...string) (positional string, values map[string]string, unknown string) {
	values = map[string]string{}
	fields := strings.Fields(rest)
	var cur string
	var pos []string
	acc := map[string][]string{}
	seen := map[string]bool{}
	for _, f := range fields {
		if strings.HasPrefix(f, "--") && len(f) > 2 {
			name := strings.ToLower(f[2:])
			if !contains(known, name) {
				return "", nil, f
			}
			cur = name
			seen[name] = true
			continue
		}
		if cur == "" {
			pos = append(pos, f)
		} else {
			acc[cur] = append(acc[cur], f)
		}
	}
	for name := range seen {
		values[name] = strings.Join(acc[name], " ")
	}
	return strings.Join(pos, " "), values, ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
