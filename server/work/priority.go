package work

import "context"

// Under load the chat server does less in all when more of its slow calls
// (posts, channel joins) run at once, and what people wait for queues
// behind what they do not. So the adapters admit the slow calls of
// background work a few at a time, the most urgent first: a run's context
// says that it is background work (the engine's runs) and how urgent the
// step at hand is (see WithPriority). Calls made while a person waits for
// the answer (commands, buttons, webhooks, Engine.Run) are not background
// work and go straight through.

// Priority orders the slow calls of background work.
type Priority int

const (
	// Routine is the rest: people joining channels, announcements,
	// notices. The default.
	Routine Priority = iota
	// Prompt is what shows state people look at: the incident card.
	Prompt
	// Urgent is what people are waiting for: a page, a status update on
	// its way to the broadcast channel.
	Urgent
)

// Priorities is the number of priorities.
const Priorities = 3

type backgroundKey struct{}

type priorityKey struct{}

// withBackground marks ctx as background work.
func withBackground(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// Background reports whether ctx is background work: no one waits for it.
func Background(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

// WithPriority returns ctx whose slow calls have priority p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityOf is the priority of ctx's slow calls (see WithPriority).
func PriorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return min(max(p, Routine), Urgent)
}

// WithBackgroundForTest marks ctx as background work, as the engine's runs
// are: for the tests of adapters.
func WithBackgroundForTest(ctx context.Context) context.Context { return withBackground(ctx) }
