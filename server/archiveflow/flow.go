// Package archiveflow carries the incident archive through the chat: an
// export arrives in the bot's direct message as a file (or downloads from
// the plugin's pages), and an admin imports one by sending it there and
// pressing Import under the bot's preview. The app does the exporting and
// importing; this adapter moves files and posts.
package archiveflow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/rs/zerolog"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/archive"
	"github.com/incidentbot/mattermost-incident-bot/server/archive/archivefile"
	"github.com/incidentbot/mattermost-incident-bot/server/bot"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// Flow is the archive's chat adapter. Build it with every field set.
type Flow struct {
	API      plugin.API
	Bot      *bot.Bot
	Core     *app.App
	PluginID string
	Log      zerolog.Logger
	// SiteURL is the server's site URL as configured now.
	SiteURL func() string
	// Settings is the plugin's settings for an archive, without secrets
	// (see app.Settings.Snapshot).
	Settings func() []byte
}

// archiveTimeout bounds one export or import.
const archiveTimeout = 30 * time.Minute

// Props of the bot's import preview post.
const (
	propArchiveFile  = "incident_archive_file"  // the file id of the archive
	propArchiveUser  = "incident_archive_user"  // the admin who sent it
	propArchiveState = "incident_archive_state" // "", "running", "done", "cancelled"
)

// StartArchiveExport checks that actor may export, then exports in the
// background and sends the file by direct message.
func (p *Flow) StartArchiveExport(ctx context.Context, actor string, since time.Time) error {
	if !p.Bot.IsSystemAdmin(ctx, actor) {
		return incident.Forbiddenf("only system admins can export the incident archive")
	}
	go p.exportArchive(actor, since)
	return nil
}

func (p *Flow) exportArchive(actor string, since time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), archiveTimeout)
	defer cancel()
	started := time.Now()
	text, file, err := p.buildExport(ctx, actor, since)
	if err != nil {
		p.Log.Error().Err(err).Str("user", actor).Msg("export the incident archive")
		text = ":warning: The incident archive export failed: " + p.Bot.Render(incident.UserMessage(err))
	}
	if err := p.dmFile(actor, text, file); err != nil {
		p.Log.Error().Err(err).Str("user", actor).Msg("send the incident archive")
		return
	}
	p.Log.Info().Str("user", actor).Dur("took", time.Since(started)).Int("bytes", len(file.data)).Msg("incident archive exported")
}

// namedFile is a file to attach; data nil: none.
type namedFile struct {
	name string
	data []byte
}

// ExportArchiveFile exports the archive for actor into a temporary file
// (the plugin's pages offer it as a download).
func (p *Flow) ExportArchiveFile(ctx context.Context, actor string, since time.Time) (string, string, func(), error) {
	path, name, _, remove, err := p.exportFile(ctx, actor, since)
	return path, name, remove, err
}

// exportFile exports the archive for actor into a new temporary file, and
// returns its path, the name to offer it under, its description and a
// func that removes it.
func (p *Flow) exportFile(ctx context.Context, actor string, since time.Time) (path, name string, meta archive.Meta, remove func(), err error) {
	dir, err := os.MkdirTemp("", "incident-archive-")
	if err != nil {
		return "", "", meta, nil, err
	}
	remove = func() { _ = os.RemoveAll(dir) }
	name = app.ArchiveFileName(time.Now())
	path = filepath.Join(dir, name)
	create := func() (archive.Writer, error) { return archivefile.Create(path) }
	meta, err = p.Core.ExportArchive(ctx, actor, create, app.ExportOptions{Since: since, SiteURL: p.SiteURL(),
		PluginVersion: p.pluginVersion(), Settings: p.Settings()})
	if err != nil {
		remove()
		return "", "", meta, nil, err
	}
	return path, name, meta, remove, nil
}

func (p *Flow) buildExport(ctx context.Context, actor string, since time.Time) (string, namedFile, error) {
	path, name, meta, remove, err := p.exportFile(ctx, actor, since)
	if err != nil {
		return "", namedFile{}, err
	}
	defer remove()
	data, err := os.ReadFile(path)
	if err != nil {
		return "", namedFile{}, err
	}
	if limit := p.MaxFileSize(); limit > 0 && int64(len(data)) > limit {
		return "", namedFile{}, incident.Invalidf("the archive is %s, over this server's file size limit of %s: export less with `--since <date>`, download it from the plugin's incidents page, or raise File Storage > Maximum File Size",
			byteSize(int64(len(data))), byteSize(limit))
	}
	scope := "every incident"
	if !since.IsZero() {
		scope = "the incidents since " + since.UTC().Format("2006-01-02")
	}
	text := fmt.Sprintf(":package: The incident archive of %s: %d incidents, %d timeline events, %d documents (%s).\n"+
		"Import it on another server by sending this file to its incident bot in a direct message; read it offline with `incident-archive`.",
		scope, meta.Incidents, meta.Events, meta.Docs, byteSize(int64(len(data))))
	return text, namedFile{name: name, data: data}, nil
}

// dmFile posts text, and the file if any, in the bot's direct message
// with userID.
func (p *Flow) dmFile(userID, text string, file namedFile) error {
	dm, appErr := p.API.GetDirectChannel(p.Bot.UserID(), userID)
	if appErr != nil {
		return fmt.Errorf("open a direct message: %w", appErr)
	}
	post := &model.Post{UserId: p.Bot.UserID(), ChannelId: dm.Id, Message: text}
	if file.data != nil {
		info, appErr := p.API.UploadFile(file.data, dm.Id, file.name)
		if appErr != nil {
			return fmt.Errorf("upload %s: %w", file.name, appErr)
		}
		post.FileIds = model.StringArray{info.Id}
	}
	if _, appErr := p.API.CreatePost(post); appErr != nil {
		return fmt.Errorf("post in a direct message: %w", appErr)
	}
	return nil
}

func (p *Flow) pluginVersion() string {
	if st, appErr := p.API.GetPluginStatus(p.PluginID); appErr == nil {
		return st.Version
	}
	return ""
}

// MaxFileSize is the server's file size limit (0: none set): what the bot
// can post, and what an upload must pass to reach the bot.
func (p *Flow) MaxFileSize() int64 {
	if cfg := p.API.GetConfig(); cfg != nil && cfg.FileSettings.MaxFileSize != nil {
		return *cfg.FileSettings.MaxFileSize
	}
	return 0
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// IsBotDM reports whether post is in the direct message between its
// author and the bot.
func (p *Flow) IsBotDM(post *model.Post) bool {
	ch, appErr := p.API.GetChannel(post.ChannelId)
	return appErr == nil && ch.Type == model.ChannelTypeDirect && ch.Name == model.GetDMNameFromIds(p.Bot.UserID(), post.UserId)
}

// PreviewImport answers a file sent to the bot: for a system admin, what
// importing it would do, with Import and Cancel buttons.
func (p *Flow) PreviewImport(post *model.Post) { p.previewImportFor(post, post.UserId) }

// previewImportFor answers, in post's thread, the archive attached to post
// on behalf of actor: the admin who sent it, or who uploaded it on the
// archive page (then the bot posted it).
func (p *Flow) previewImportFor(post *model.Post, actor string) {
	ctx, cancel := context.WithTimeout(context.Background(), archiveTimeout)
	defer cancel()
	reply := func(text string, props map[string]any, actions []*model.PostAction) {
		rp := &model.Post{UserId: p.Bot.UserID(), ChannelId: post.ChannelId, RootId: post.Id, Message: text}
		for k, v := range props {
			rp.AddProp(k, v)
		}
		if len(actions) > 0 {
			rp.AddProp("attachments", []*model.MessageAttachment{{Actions: actions}})
		}
		if _, appErr := p.API.CreatePost(rp); appErr != nil {
			p.Log.Error().Err(appErr).Str("post", post.Id).Msg("answer an archive sent to the bot")
		}
	}
	if !p.Bot.IsSystemAdmin(ctx, actor) {
		reply("Only system admins can import an incident archive. Ask one to send it to me.", nil, nil)
		return
	}
	if len(post.FileIds) != 1 {
		reply("Send one incident archive per message.", nil, nil)
		return
	}
	fileID := post.FileIds[0]
	rep, err := p.withArchive(ctx, fileID, func(arc archive.Source) (*app.ImportReport, error) {
		return p.Core.ImportArchive(ctx, actor, arc, true)
	})
	if err != nil {
		reply(":warning: "+p.Bot.Render(incident.UserMessage(err)), nil, nil)
		return
	}
	if !rep.Changed() {
		reply(importText(rep, p.Bot.Render)+"\n\nNothing to import: this server has all of it already.", nil, nil)
		return
	}
	btn := func(id, name, style string) *model.PostAction {
		return &model.PostAction{Id: id, Name: name, Style: style, Type: model.PostActionTypeButton,
			Integration: &model.PostActionIntegration{URL: "/plugins/" + p.PluginID + wire.ActionsPath + id}}
	}
	buttons := []*model.PostAction{btn(wire.ActionArchiveImport, "Import", "primary")}
	if len(rep.Shared) > 0 {
		buttons = append(buttons, btn(wire.ActionArchiveImportShared, "Import with the rota and sign-off groups", "danger"))
	}
	reply(importText(rep, p.Bot.Render), map[string]any{propArchiveFile: fileID, propArchiveUser: actor},
		append(buttons, btn(wire.ActionArchiveCancel, "Cancel", "default")))
}

// withArchive fetches a file, opens it as an untrusted archive (checked
// in a child process, within limits: see archivefile.OpenUntrusted) and
// runs fn on it.
func (p *Flow) withArchive(ctx context.Context, fileID string, fn func(archive.Source) (*app.ImportReport, error)) (*app.ImportReport, error) {
	lim := archivefile.DefaultLimits
	// The server hands a plugin a file whole, in memory: the size is
	// checked before.
	info, appErr := p.API.GetFileInfo(fileID)
	if appErr != nil {
		return nil, fmt.Errorf("read the file: %w", appErr)
	}
	if info.Size > lim.MaxBytes {
		return nil, incident.Invalidf("This file is %s; this server takes archives up to %s. Export in parts with `--since`.", byteSize(info.Size), byteSize(lim.MaxBytes))
	}
	data, appErr := p.API.GetFile(fileID)
	if appErr != nil {
		return nil, fmt.Errorf("read the file: %w", appErr)
	}
	dir, err := os.MkdirTemp("", "incident-archive-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "import.incidents")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, err
	}
	arc, err := archivefile.OpenUntrusted(ctx, path, lim)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, incident.Invalidf("%s", err.Error())
	}
	defer arc.Close()
	return fn(arc.Source())
}

// ArchiveAction runs the Import or Cancel button of an import preview.
// The post is the authority: the bot's own preview, in the bot's direct
// message with the actor, who sent the archive and is a system admin.
func (p *Flow) ArchiveAction(ctx context.Context, actor, postID, action string) (string, error) {
	post, appErr := p.API.GetPost(postID)
	if appErr != nil {
		return "", incident.NotFoundf("that post no longer exists")
	}
	fileID, _ := post.GetProp(propArchiveFile).(string)
	if post.UserId != p.Bot.UserID() || fileID == "" || post.GetProp(propArchiveUser) != actor {
		return "", incident.Forbiddenf("that button belongs to another admin's import")
	}
	if !p.Bot.IsSystemAdmin(ctx, actor) {
		return "", incident.Forbiddenf("only system admins can import an incident archive")
	}
	switch post.GetProp(propArchiveState) {
	case "done", "cancelled":
		return "This archive was handled already; send it again to import it again.", nil
	}
	if action == wire.ActionArchiveCancel {
		p.finishPreview(post, "cancelled", post.Message+"\n\n_Cancelled: nothing was imported._")
		return "Cancelled.", nil
	}
	if first, err := p.Core.ClaimImport(ctx, post.Id, archiveTimeout); err != nil {
		return "", err
	} else if !first {
		return "The import is running; its report will replace this message.", nil
	}
	p.finishPreview(post, "running", post.Message+"\n\n_Importing…_")
	go p.runImport(post, actor, fileID, action == wire.ActionArchiveImportShared)
	return "Importing; the report will replace the preview.", nil
}

func (p *Flow) runImport(post *model.Post, actor, fileID string, shared bool) {
	ctx, cancel := context.WithTimeout(context.Background(), archiveTimeout)
	defer cancel()
	started := time.Now()
	rep, err := p.withArchive(ctx, fileID, func(arc archive.Source) (*app.ImportReport, error) {
		return p.Core.ImportArchiveWith(ctx, actor, arc, app.ImportOptions{Shared: shared})
	})
	if err != nil {
		p.Log.Error().Err(err).Str("user", actor).Msg("import an incident archive")
		msg := ":warning: The import stopped: " + p.Bot.Render(incident.UserMessage(err))
		if rep != nil {
			msg += "\n\n" + importText(rep, p.Bot.Render) + "\n\nWhat it did is kept; import the archive again to finish: it skips what is there."
		}
		p.finishPreview(post, "done", msg)
		return
	}
	p.Log.Info().Str("user", actor).Dur("took", time.Since(started)).Int("created", len(rep.Created)).Int("updated", len(rep.Updated)).Msg("incident archive imported")
	p.finishPreview(post, "done", importText(rep, p.Bot.Render))
}

// finishPreview rewrites the preview with text and state, without its
// buttons.
func (p *Flow) finishPreview(post *model.Post, state, text string) {
	post = post.Clone()
	post.Message = text
	post.DelProp("attachments")
	post.AddProp(propArchiveState, state)
	if _, appErr := p.API.UpdatePost(post); appErr != nil {
		p.Log.Error().Err(appErr).Str("post", post.Id).Msg("update the archive import post")
	}
}

// StageImport takes an archive uploaded on the archive page into the chat
// flow: the bot posts it in its direct message with actor and previews it
// there, with the Import button. It returns a link to that direct message.
func (p *Flow) StageImport(ctx context.Context, actor, filename string, data []byte) (string, error) {
	if !p.Bot.IsSystemAdmin(ctx, actor) {
		return "", incident.Forbiddenf("only system admins can import an incident archive")
	}
	if filename = filepath.Base(filename); filename == "." || filename == "/" {
		filename = "upload.incidents"
	}
	dm, appErr := p.API.GetDirectChannel(p.Bot.UserID(), actor)
	if appErr != nil {
		return "", fmt.Errorf("open a direct message: %w", appErr)
	}
	info, appErr := p.API.UploadFile(data, dm.Id, filename)
	if appErr != nil {
		return "", incident.Invalidf("the server refused the file: %s", appErr.Message)
	}
	post, appErr := p.API.CreatePost(&model.Post{UserId: p.Bot.UserID(), ChannelId: dm.Id, FileIds: model.StringArray{info.Id},
		Message: "You uploaded this incident archive on the archive page."})
	if appErr != nil {
		return "", fmt.Errorf("post the uploaded archive: %w", appErr)
	}
	go p.previewImportFor(post, actor)
	return p.dmURL(actor), nil
}

// dmURL links to the bot's direct message with userID, in the first of
// their teams; "" when they have none.
func (p *Flow) dmURL(userID string) string {
	teams, appErr := p.API.GetTeamsForUser(userID)
	if appErr != nil || len(teams) == 0 {
		return ""
	}
	return strings.TrimSuffix(p.SiteURL(), "/") + "/" + teams[0].Name + "/messages/@" + bot.Account.Username
}
