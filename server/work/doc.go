// Package work is the engine for everything the incident bot does later or
// on time: the follow-up of a committed change, pages and their
// escalations, reminders, freeze notices, rota handoffs. Features register
// a handler per kind of subject (an incident, a page, ...); the engine
// decides when and where a handler runs, and owns retries, backoff, dead
// letters and the leases that keep two cluster nodes from working on one
// subject at once. It imports nothing from Mattermost and nothing of the
// incident domain: its store is a small document port.
//
// # Subjects and the due index
//
// A subject is a record (a kind and a key) that may owe work. The due
// index (wheel.go) is a time wheel of entries, subject -> due time, kept in
// a few documents per minute and a directory of the minutes that hold
// entries: a tick reads the directory and the minutes that are due, so its
// cost follows the work that is due, not the number of open incidents, and
// at rest it is one read. An entry is a hint: the handler reads the
// record, which decides. The engine never removes the entry a run was
// dispatched from before it has added the run's successor, so a crash at
// any point leaves the subject findable.
//
// A change that leaves work owed must be findable by some entry before it
// is committed, or a crash right after the commit would strand it. Records
// carry a Timer: the due time of an entry known to exist. A commit needs no
// index write while its record's Timer is set and at most MaxDelay ahead;
// otherwise it arms a fresh entry first (Arm) and commits the record with
// that Timer. Only a run dispatched from that very entry clears the Timer.
// Under a storm of changes one entry thus covers an incident until the
// next tick, instead of one index write per change.
//
// # The one lease rule
//
// A lease (lease.go) is stored in the record it guards, written with
// compare-and-set. Its holder renews it (Beat+1) every RenewEvery while it
// works, from a goroutine beside the work, and stops making effects once
// no renewal has landed for HoldFor, measured on its own monotonic clock
// from the start of the last renewal that landed. Another process takes it
// over only after it has itself watched the same owner and beat stand
// still for LeaseTTL, with looks at most LeaseTTL apart; a longer gap (a
// paused database, a stopped process) starts the watch again, so the first
// look after a pause never counts. Both sides measure only their own
// elapsed time, so clock offsets between nodes do not matter; since HoldFor
// is shorter than LeaseTTL, a live holder has stopped before anyone takes
// over, unless a single call outlasts the difference (a post stuck for
// seconds), and the effects of a run are keyed (once.go) so that a taker
// finds what its predecessor did instead of doing it again. The fence
// number rises with every take, so a holder recognises its own lease.
//
// # Failure
//
// A run that fails (an error or a panic) moves its entry on with backoff;
// after MaxTries runs in a row it is set aside in the dead-letter document
// and the admins are told once, with what to do. Nothing a failing subject
// does holds up another subject, or keeps the index from moving on.
package work
