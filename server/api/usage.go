package api

import (
	"encoding/json"
	"net/http"
	"runtime"
	"time"
)

// UsagePath reports what this plugin process uses (system admins): CPU
// time, memory and goroutines, for measuring it under load.
const UsagePath = "/api/v1/usage"

// Usage is what UsagePath answers.
type Usage struct {
	// UserSeconds and SystemSeconds are the process's CPU time so far.
	UserSeconds   float64 `json:"user_seconds"`
	SystemSeconds float64 `json:"system_seconds"`
	HeapBytes     uint64  `json:"heap_bytes"`
	Goroutines    int     `json:"goroutines"`
	// Calls counts the calls of the plugin API that load the server, per
	// method, since the plugin started, and the time they took.
	Calls map[string]Timed `json:"calls,omitempty"`
	// Handlers counts the runs of the plugin's entry points (a command's
	// verb, a route), and the time they took.
	Handlers map[string]Timed `json:"handlers,omitempty"`
	At       time.Time        `json:"at"`
}

// Timed is how often something ran and for how long in all.
type Timed struct {
	N       int64   `json:"n"`
	Seconds float64 `json:"seconds"`
}

func (a *API) serveUsage(w http.ResponseWriter, r *http.Request, actor string) {
	if !a.App.IsSystemAdmin(r.Context(), actor) {
		http.Error(w, "only system admins", http.StatusForbidden)
		return
	}
	user, sys := processCPU()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u := Usage{
		UserSeconds:   user.Seconds(),
		SystemSeconds: sys.Seconds(),
		HeapBytes:     ms.HeapAlloc, Goroutines: runtime.NumGoroutine(), At: time.Now().UTC(),
	}
	if a.Calls != nil {
		u.Calls, u.Handlers = a.Calls()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(u)
}
