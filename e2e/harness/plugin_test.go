package harness

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

const fixtureID = "io.incidentbot.e2e-fixture"

// TestPluginInteractions proves the plugin helpers (install, disable,
// enable, button clicks, dialog submissions, failed activation) against the
// fixture plugin in testdata, so that a harness bug is not mistaken for a bug
// of the incident bot.
func TestPluginInteractions(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("starts a real Mattermost server; not in -short mode")
	}
	srv := MustStart(t, Options{Users: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice, bob := srv.Users[0], srv.Users[1]

	binary := buildFixture(t)
	bundle := fixtureBundle(t, binary, fixtureID, "")
	start := time.Now()
	if err := srv.InstallPlugin(ctx, bundle, fixtureID); err != nil {
		t.Fatal(err)
	}
	t.Logf("fixture installed and running in %s", time.Since(start).Round(time.Millisecond))

	if _, err := srv.ExecuteCommand(ctx, alice, srv.TownSquare.Id, "/fixture"); err != nil {
		t.Fatal(err)
	}
	var card *model.Post
	Eventually(t, 10*time.Second, "the fixture's button post", func() (bool, error) {
		card = findPost(ctx, srv, bob, srv.TownSquare.Id, func(p *model.Post) bool {
			return p.UserId == alice.Id && p.Message == "fixture buttons"
		})
		return card != nil, nil
	})

	if _, err := srv.ClickButton(ctx, bob, card.Id, "ack"); err != nil {
		t.Fatal(err)
	}
	want := "acked by " + bob.Id + "; dialog opened"
	Eventually(t, 10*time.Second, "the post updated by the click", func() (bool, error) {
		p, _, err := alice.Client.GetPost(ctx, card.Id, "")
		if err != nil {
			return false, err
		}
		return p.Message == want, nil
	})

	dialog := model.SubmitDialogRequest{
		URL:        "/plugins/" + fixtureID + "/dialog",
		CallbackId: "reason",
		ChannelId:  srv.TownSquare.Id,
		Submission: map[string]any{"reason": ""},
	}
	resp, err := srv.SubmitDialog(ctx, bob, dialog)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Errors["reason"] != "required" {
		t.Fatalf("empty reason: dialog errors = %v, want reason: required", resp.Errors)
	}
	dialog.Submission["reason"] = "db down"
	if _, err := srv.SubmitDialog(ctx, bob, dialog); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "the post made by the dialog", func() (bool, error) {
		p := findPost(ctx, srv, alice, srv.TownSquare.Id, func(p *model.Post) bool {
			return p.UserId == bob.Id && p.Message == "reason: db down"
		})
		return p != nil, nil
	})

	if err := srv.DisablePlugin(ctx, fixtureID); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ExecuteCommand(ctx, alice, srv.TownSquare.Id, "/fixture"); err == nil {
		t.Error("/fixture still runs with the plugin disabled")
	}
	if err := srv.EnablePlugin(ctx, fixtureID); err != nil {
		t.Fatal(err)
	}

	t.Run("failed activation is an error with the log", func(t *testing.T) {
		const brokenID = "io.incidentbot.e2e-broken"
		bundle := fixtureBundle(t, binary, brokenID, "99.0.0")
		start := time.Now()
		err := srv.InstallPlugin(ctx, bundle, brokenID)
		if err == nil {
			t.Fatal("a plugin needing server 99.0.0 reached running")
		}
		if !strings.Contains(err.Error(), "state 3") || !strings.Contains(err.Error(), brokenID) {
			t.Errorf("error lacks the state or the plugin's log lines: %v", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("failure took %s to report; it should not wait out the deadline", d)
		}
	})
}

func findPost(ctx context.Context, srv *Server, u *User, channelID string, match func(*model.Post) bool) *model.Post {
	posts, err := srv.Posts(ctx, u, channelID)
	if err != nil {
		return nil
	}
	for _, p := range posts {
		if match(p) {
			return p
		}
	}
	return nil
}

// buildFixture compiles testdata/fixtureplugin for this machine.
func buildFixture(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "plugin")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/fixtureplugin")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build fixture plugin: %v\n%s", err, b)
	}
	return out
}

// fixtureBundle packs binary as plugin id into a bundle laid out as the
// server expects: <id>/plugin.json and the executable it names.
func fixtureBundle(t *testing.T, binary, id, minServer string) string {
	t.Helper()
	exe := "server/dist/plugin-" + runtime.GOOS + "-" + runtime.GOARCH
	manifest, err := json.Marshal(map[string]any{
		"id":                 id,
		"name":               "Harness fixture",
		"version":            "0.1.0",
		"min_server_version": minServer,
		"server":             map[string]any{"executables": map[string]string{runtime.GOOS + "-" + runtime.GOARCH: exe}},
	})
	if err != nil {
		t.Fatal(err)
	}
	exeBytes, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), id+".tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// BestSpeed: under -race, default compression of the ~20 MB binary
	// takes seconds.
	gz, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(gz)
	for _, file := range []struct {
		name string
		mode int64
		data []byte
	}{
		{id + "/plugin.json", 0o644, manifest},
		{id + "/" + exe, 0o755, exeBytes},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: file.name, Mode: file.mode, Size: int64(len(file.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(file.data); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []interface{ Close() error }{tw, gz, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return path
}
