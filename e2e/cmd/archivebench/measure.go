package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/e2e/harness"
	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
)

// poll is how often an effect is looked for: the delays measured are
// seconds long, so 50 ms is well under their noise.
const poll = 50 * time.Millisecond

// measureExport times /incident start n times, one every pace, then
// exports while timing starts at the same pace for as long as the export
// runs, and downloads the archive.
func measureExport(ctx context.Context, s *harness.Server, n int, pace time.Duration, f *figures) error {
	starter := s.Users[0]
	seq := 0
	startOne := func() (time.Duration, error) {
		seq++
		t0 := time.Now()
		r, err := s.ExecuteCommand(ctx, starter, s.TownSquare.Id, fmt.Sprintf("/incident start Bench start %d --severity S4", seq))
		d := time.Since(t0)
		if err == nil && !strings.Contains(r.Text, "started") {
			err = fmt.Errorf("start replied %q", r.Text)
		}
		return d, err
	}
	paced := func() (time.Duration, error) {
		next := time.Now().Add(pace)
		d, err := startOne()
		time.Sleep(time.Until(next))
		return d, err
	}
	for range n + 1 { // the first warms up
		d, err := paced()
		if err != nil {
			return err
		}
		f.before = append(f.before, d)
	}
	f.before = f.before[1:]

	dm, bot, err := botDM(ctx, s, s.Admin)
	if err != nil {
		return err
	}
	var done atomic.Bool
	var fileID string
	var exportErr error
	began := time.Now()
	go func() {
		defer done.Store(true)
		if _, err := s.ExecuteCommand(ctx, s.Admin, s.TownSquare.Id, "/incident archive export"); err != nil {
			exportErr = err
			return
		}
		exportErr = until(ctx, 30*time.Minute, func() (bool, error) {
			posts, _, err := s.Admin.Client.GetPostsForChannel(ctx, dm, 0, 20, "", false, false)
			if err != nil {
				return false, err
			}
			for _, p := range posts.Posts {
				if p.UserId == bot && strings.Contains(p.Message, "failed") {
					return false, errors.New(p.Message)
				}
				if p.UserId == bot && len(p.FileIds) == 1 {
					fileID = p.FileIds[0]
					return true, nil
				}
			}
			return false, nil
		})
		f.export = time.Since(began)
	}()
	for !done.Load() {
		d, err := paced()
		if err != nil {
			return err
		}
		if !done.Load() {
			f.during = append(f.during, d)
		}
	}
	if exportErr != nil {
		return fmt.Errorf("export: %w", exportErr)
	}
	data, _, err := s.Admin.Client.GetFile(ctx, fileID)
	if err != nil {
		return err
	}
	f.bytes = len(data)
	f.exportLog = took(s, "incident archive exported") + " (" + fields(s, "incident archive written", "read", "directory", "written") + ")"
	archiveData = data
	return nil
}

// archiveData is the exported archive, for the import.
var archiveData []byte

// measureImport sends the archive to the bot of s, times the preview,
// presses Import and times the import.
func measureImport(ctx context.Context, s *harness.Server, f *figures) error {
	incidents, err := archivedIncidents(archiveData)
	if err != nil {
		return err
	}
	dm, bot, err := botDM(ctx, s, s.Admin)
	if err != nil {
		return err
	}
	f.archived = incidents
	up, _, err := s.Admin.Client.UploadFile(ctx, archiveData, dm, "bench.incidents")
	if err != nil {
		return err
	}
	began := time.Now()
	sent, _, err := s.Admin.Client.CreatePost(ctx, &model.Post{ChannelId: dm, FileIds: model.StringArray{up.FileInfos[0].Id}})
	if err != nil {
		return err
	}
	var preview *model.Post
	err = until(ctx, 30*time.Minute, func() (bool, error) {
		posts, _, err := s.Admin.Client.GetPostsForChannel(ctx, dm, 0, 20, "", false, false)
		if err != nil {
			return false, err
		}
		for _, p := range posts.Posts {
			if p.UserId == bot && p.RootId == sent.Id {
				preview = p
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	f.preview = time.Since(began)
	if want := fmt.Sprintf("Would import %d new incidents", incidents); !strings.Contains(preview.Message, want) {
		return fmt.Errorf("preview says %q, not %q", preview.Message, want)
	}
	began = time.Now()
	if _, err := s.ClickButton(ctx, s.Admin, preview.Id, "archiveimport"); err != nil {
		return err
	}
	err = until(ctx, 30*time.Minute, func() (bool, error) {
		p, _, err := s.Admin.Client.GetPost(ctx, preview.Id, "")
		if err != nil {
			return false, err
		}
		f.report = p.Message
		return strings.Contains(p.Message, "Imported") || strings.Contains(p.Message, "stopped"), nil
	})
	f.importing = time.Since(began)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if want := fmt.Sprintf("Imported %d new incidents", incidents); !strings.Contains(f.report, want) {
		return fmt.Errorf("the import reported %q", f.report)
	}
	f.importLog = took(s, "incident archive imported") + " (preview: " + fields(s, "incident archive read into the store", "match", "took") + ")"
	return nil
}

// botDM returns the direct channel between u and the bot, and the bot's id.
func botDM(ctx context.Context, s *harness.Server, u *harness.User) (string, string, error) {
	bot, _, err := s.Admin.Client.GetUserByUsername(ctx, "incident", "")
	if err != nil {
		return "", "", err
	}
	ch, _, err := u.Client.CreateDirectChannel(ctx, u.Id, bot.Id)
	if err != nil {
		return "", "", err
	}
	return ch.Id, bot.Id, nil
}

func until(ctx context.Context, limit time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

var tookRe = regexp.MustCompile(`"took":"?([0-9.]+[a-zµ]*)"?`)

// took is the duration the plugin logged with msg, as logged.
func took(s *harness.Server, msg string) string {
	for _, l := range strings.Split(s.PluginLogTail(pluginID, 200), "\n") {
		if strings.Contains(l, msg) {
			if m := tookRe.FindStringSubmatch(l); m != nil {
				if strings.Trim(m[1], "0123456789.") == "" {
					return m[1] + " ms" // zerolog writes durations in milliseconds
				}
				return m[1]
			}
		}
	}
	return ""
}

// archivedIncidents opens the archive's bytes and returns how many
// incidents it holds: the seeded ones and the starts the bench timed.
func archivedIncidents(data []byte) (int, error) {
	dir, err := os.MkdirTemp("", "archivebench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "a.incidents")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return 0, err
	}
	a, err := archivefile.Open(path)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	return a.Meta.Incidents, nil
}

// fields returns the named fields of the first plugin log line with msg,
// as "name value" pairs (durations in milliseconds, as zerolog writes them).
func fields(s *harness.Server, msg string, names ...string) string {
	for _, l := range strings.Split(s.PluginLogTail(pluginID, 400), "\n") {
		if !strings.Contains(l, msg) {
			continue
		}
		var out []string
		for _, n := range names {
			if m := regexp.MustCompile(`"` + n + `":"?([0-9.]+)`).FindStringSubmatch(l); m != nil {
				out = append(out, n+" "+m[1]+" ms")
			}
		}
		return strings.Join(out, ", ")
	}
	return ""
}
