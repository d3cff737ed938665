package browser_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mattermost/mattermost/server/public/model"
)

// An admin signed in with a browser session uploads an archive on the
// archive page: the form passes Mattermost's CSRF check (a cookie session's
// POST is refused without it), the archive lands in the admin's direct
// message with the bot, and the bot previews it there. The archive is
// this server's own, so there is nothing to import.
func TestArchivePageUpload(t *testing.T) {
	needBrowser(t)
	code, archive, err := request(context.Background(), http.MethodPost, srv.Admin, "/archive.incidents")
	if err != nil || code != 200 {
		t.Fatalf("download the archive: %d, %v", code, err)
	}
	path := filepath.Join(t.TempDir(), "here.incidents")
	if err := os.WriteFile(path, []byte(archive), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := get(context.Background(), member, "/archive"); code != 403 {
		t.Fatalf("a member's archive page: %d, want 403", code)
	}

	ctx := browse(t)
	signIn(t, ctx, srv.Admin)
	sent := model.GetMillis()
	if code := openPage(t, ctx, "/archive"); code != 200 {
		t.Fatalf("the archive page: %d", code)
	}
	shot(t, ctx, "archive")
	do(t, ctx, "choose the archive", chromedp.SetUploadFiles("#import-file", []string{path}, chromedp.ByID))
	do(t, ctx, "submit it", chromedp.Click("#import-submit", chromedp.ByID), chromedp.WaitReady("body", chromedp.ByQuery))
	waitText(t, ctx, "Press Import under the preview")
	shot(t, ctx, "archive-sent")

	bot, _, err := srv.Admin.Client.GetUserByUsername(context.Background(), "incident", "")
	if err != nil {
		t.Fatal(err)
	}
	dm, _, err := srv.Admin.Client.CreateDirectChannel(context.Background(), srv.Admin.Id, bot.Id)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	err = poll(context.Background(), 20*time.Second, func() (bool, error) {
		posts, _, err := srv.Admin.Client.GetPostsSince(context.Background(), dm.Id, sent, false)
		if err != nil {
			return false, err
		}
		for _, p := range posts.Posts {
			if p.UserId == bot.Id && p.RootId != "" {
				last = p.Message
				return strings.Contains(p.Message, "Nothing to import"), nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the bot's preview of the uploaded archive (last: %q): %v", last, err)
	}
}

// waitText waits until the page shows want (a POST's answer replaces the
// page, so there is no element to wait for before it arrives).
func waitText(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	var text string
	err := poll(ctx, 20*time.Second, func() (bool, error) {
		err := chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText : ''`, &text))
		return err == nil && strings.Contains(text, want), nil
	})
	if err != nil {
		shot(t, ctx, "failed-wait")
		t.Fatalf("the page never said %q; it says:\n%s", want, text)
	}
}
