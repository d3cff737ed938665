// Package harness runs a real Mattermost v6.7.2 server, backed by a throwaway
// PostgreSQL cluster, for end-to-end tests of the plugin. Nothing is mocked:
// tests drive the server through the public REST API as real users would
// (slash commands, button clicks, dialog submissions) and observe the effects.
//
// A typical test:
//
//	srv := harness.MustStart(t, harness.Options{})
//	if err := srv.InstallPlugin(ctx, bundle, "io.incidentbot.mattermost"); err != nil { t.Fatal(err) }
//	srv.ExecuteCommand(ctx, srv.Users[0], srv.TownSquare.Id, "/incident start")
//	harness.Eventually(t, 5*time.Second, "incident post", func() (bool, error) { ... })
//
// The server binary is built once per machine (see EnsureServerBinary) from the
// nested module in e2e/mmserver and cached under the user cache directory.
// Every process the harness starts binds to 127.0.0.1 only and goes down with
// the test process (parent-death signals), plugin processes included. An
// aborted run leaves only its temp directory, which the next Start removes.
//
// Faults can be injected on the database (see faults.go): Server.DB adds
// latency to every query Mattermost makes, Server.PausePostgres freezes
// the cluster, and Server.KillPlugin kills a plugin process.
package harness
