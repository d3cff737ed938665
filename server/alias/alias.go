// Package alias finds on-duty handles ("@release-manager") in a message
// and maps them to what they stand for: a rota role, the whole rota, or a
// sign-off group. Pure text: it imports only the standard library and the
// incident package.
//
// A handle counts only where a reader would see it as a mention: not in an
// inline code span, a fenced or indented code block, or a block quote (a
// quote is someone's earlier words, often the bot's own answer quoted
// back, and must not trigger it again).
package alias

import (
	"strings"
)

// MaxName is the longest handle considered: Mattermost usernames have at
// most 22 characters, group names more; anything longer is not a handle.
const MaxName = 64

// Use is one handle used in a message.
type Use struct {
	// Name is the handle without "@", in lower case.
	Name string
	// Page is set when "!page" follows the handle (after spaces) at least
	// once; PageText is what follows "!page" on that line, trimmed.
	Page     bool
	PageText string
}

// Find returns the handles used in text, each once, in order of first use.
// It does not know which names are handles: the caller filters. It costs
// one pass over text.
func Find(text string) []Use {
	if !strings.Contains(text, "@") {
		return nil
	}
	var out []Use
	add := func(u Use) {
		for i := range out {
			if out[i].Name == u.Name {
				if u.Page && !out[i].Page {
					out[i].Page, out[i].PageText = true, u.PageText
				}
				return
			}
		}
		out = append(out, u)
	}
	var (
		fence     string // the open fence ("```", "~~~~"), if in a fenced block
		prevBlank = true // the previous line was blank (or there was none)
		inIndent  bool   // in an indented code block
	)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if fence != "" {
			if indent < 4 && strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]+" \t") == "" {
				fence = ""
			}
			prevBlank = false
			continue
		}
		if indent < 4 {
			if f := openFence(trimmed); f != "" {
				fence, inIndent, prevBlank = f, false, false
				continue
			}
		}
		blank := strings.TrimSpace(line) == ""
		if blank {
			prevBlank = true
			continue
		}
		codeIndent := indent >= 4 || strings.HasPrefix(line, "\t")
		if codeIndent && (prevBlank || inIndent) {
			inIndent, prevBlank = true, false
			continue
		}
		inIndent, prevBlank = false, false
		if indent < 4 && strings.HasPrefix(trimmed, ">") {
			continue // a block quote
		}
		scanLine(line, add)
	}
	return out
}

// openFence returns the fence that line opens ("```" or "~~~", or a longer
// run), or "".
func openFence(line string) string {
	for _, c := range []byte{'`', '~'} {
		n := 0
		for n < len(line) && line[n] == c {
			n++
		}
		if n >= 3 {
			if c == '`' && strings.Contains(line[n:], "`") {
				return "" // "```x```" is an inline span, not a fence
			}
			return line[:n]
		}
	}
	return ""
}

// scanLine finds the handles in one line of paragraph text, skipping
// inline code spans.
func scanLine(line string, add func(Use)) {
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '`':
			n := run(line, i, '`')
			if end := closeSpan(line, i+n, n); end >= 0 {
				i = end
				continue
			}
			i += n // an unclosed run of backticks is literal text
		case c == '@' && (i == 0 || boundary(line[i-1])):
			j := i + 1
			for j < len(line) && nameChar(line[j]) {
				j++
			}
			name := strings.TrimRight(line[i+1:j], ".-_")
			if name != "" && len(name) <= MaxName && letter(name[0]) {
				u := Use{Name: strings.ToLower(name)}
				rest := line[i+1+len(name):]
				if after := strings.TrimLeft(rest, " \t"); len(after) < len(rest) || rest == "" {
					if strings.HasPrefix(after, "!page") && (len(after) == 5 || after[5] == ' ' || after[5] == '\t') {
						u.Page, u.PageText = true, strings.TrimSpace(after[5:])
					}
				}
				add(u)
			}
			i = j
		default:
			i++
		}
	}
}

// run counts the bytes equal to c from i on.
func run(s string, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

// closeSpan returns the index after the run of exactly n backticks that
// closes a code span opened before from, or -1.
func closeSpan(s string, from, n int) int {
	for i := from; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		m := run(s, i, '`')
		if m == n {
			return i + m
		}
		i += m
	}
	return -1
}

// boundary reports whether a mention may start after c: not inside a word
// or an address ("ops@release-manager.example").
func boundary(c byte) bool {
	return !(letter(c) || digit(c) || c == '_' || c == '.' || c == '-' || c == '@' || c == '/' || c == '\\' || c >= 0x80)
}

func letter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func digit(c byte) bool  { return c >= '0' && c <= '9' }

// nameChar is Mattermost's username alphabet (which user input may write
// in upper case).
func nameChar(c byte) bool { return letter(c) || digit(c) || c == '.' || c == '-' || c == '_' }

// ValidName reports whether name can be a handle: 3 to 64 characters of
// a-z, 0-9, '.', '-' and '_', starting with a letter and not ending with
// '.', '-' or '_' (a mention ends before them).
func ValidName(name string) bool {
	if len(name) < 3 || len(name) > MaxName || !(name[0] >= 'a' && name[0] <= 'z') {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || digit(c) || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return !strings.ContainsAny(name[len(name)-1:], ".-_")
}
