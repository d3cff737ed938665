package incident

import (
	"errors"
	"fmt"

	"github.com/incidentbot/mattermost-incident-bot/server/cas"
)

// Kind classifies an error so that each edge can map it once: the command
// edge to a short reply, the HTTP edge to a status code, the log to a level.
type Kind int

// Error kinds.
const (
	KindInternal  Kind = iota // a bug or an infrastructure failure; details are logged, not shown
	KindInvalid               // the caller's input is wrong; the message says what to type instead
	KindNotFound              // the thing named does not exist
	KindConflict              // the state changed underneath, or the thing exists already
	KindForbidden             // the actor may not do this
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindForbidden:
		return "forbidden"
	default:
		return "internal"
	}
}

// Error is a domain error with a kind and a message fit to show a user.
type Error struct {
	Kind Kind
	Msg  string // user-facing, one line
	Err  error  // optional cause, for logs and errors.Is
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, ErrNotFound) match any Error of the same kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Err == nil && t.Kind == e.Kind
}

// Sentinels for errors.Is; they match every Error of their kind.
var (
	ErrNotFound  = &Error{Kind: KindNotFound}
	ErrConflict  = &Error{Kind: KindConflict}
	ErrInvalid   = &Error{Kind: KindInvalid}
	ErrForbidden = &Error{Kind: KindForbidden}
)

// Invalidf returns a KindInvalid error with a user-facing message.
func Invalidf(format string, args ...any) error {
	return &Error{Kind: KindInvalid, Msg: fmt.Sprintf(format, args...)}
}

// NotFoundf returns a KindNotFound error with a user-facing message.
func NotFoundf(format string, args ...any) error {
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf(format, args...)}
}

// Conflictf returns a KindConflict error with a user-facing message.
func Conflictf(format string, args ...any) error {
	return &Error{Kind: KindConflict, Msg: fmt.Sprintf(format, args...)}
}

// Forbiddenf returns a KindForbidden error with a user-facing message.
func Forbiddenf(format string, args ...any) error {
	return &Error{Kind: KindForbidden, Msg: fmt.Sprintf(format, args...)}
}

// KindOf reports the kind of err: the kind of the outermost *Error in its
// chain, or KindInternal for any other error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, cas.ErrNewerFormat) {
		return KindConflict // a rolling upgrade is under way; it passes
	}
	return KindInternal
}

// UserMessage returns the text to show a user for err. Internal errors get a
// generic message: their details belong in the log, not in chat.
func UserMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal {
		if e.Msg != "" {
			return e.Msg
		}
		return e.Kind.String()
	}
	if errors.Is(err, cas.ErrNewerFormat) {
		return cas.ErrNewerFormat.Error()
	}
	return "Something went wrong on our side; the details are in the server log."
}
