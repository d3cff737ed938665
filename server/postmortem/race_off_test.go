//go:build !race

package postmortem

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = false
