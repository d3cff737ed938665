// Package outbound sends pages beyond the chat: by email through the
// server's own SMTP settings (the plugin API's SendMail), and to a
// person's webhook (their organisation's SMS or phone gateway) as a
// documented JSON body signed with HMAC-SHA256. The webhook client dials
// only addresses the admins allow (package hosts), checked on each address
// it dials, and gives up after a short timeout: the app retries with
// backoff, and the chat page never waits for any of it.
package outbound

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/app"
	"github.com/incidentbot/mattermost-incident-bot/server/hosts"
	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// API is what the sender needs of the plugin API.
type API interface {
	GetUser(userID string) (*model.User, *model.AppError)
	SendMail(to, subject, htmlBody string) *model.AppError
	GetConfig() *model.Config
}

// Sender implements app.Reach.
type Sender struct {
	API API
	// PageURL returns the absolute URL of a path of the plugin (the
	// incident's page, the acknowledge link's page).
	PageURL func(path string) string
	// Hosts returns the hosts webhooks may go to (the settings').
	Hosts func() hosts.List
	// Name renders a user for messages ("@alice").
	Name func(userID string) string
	// Timeout bounds one webhook request; 0: DefaultTimeout.
	Timeout time.Duration
}

var _ app.Reach = (*Sender)(nil)

// DefaultTimeout bounds one webhook request.
const DefaultTimeout = 10 * time.Second

// Headers of a webhook request.
const (
	HeaderSignature = "X-Incident-Signature" // sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">
	HeaderTimestamp = "X-Incident-Timestamp" // Unix seconds, part of what is signed
	HeaderDelivery  = "X-Incident-Delivery"  // the same on every retry of one delivery
)

// EmailOff says why the server sends no email ("" when it does).
func (s *Sender) EmailOff() string {
	cfg := s.API.GetConfig()
	switch {
	case cfg == nil:
		return "its configuration cannot be read"
	case cfg.EmailSettings.SendEmailNotifications == nil || !*cfg.EmailSettings.SendEmailNotifications:
		return "email notifications are off"
	case cfg.EmailSettings.SMTPServer == nil || *cfg.EmailSettings.SMTPServer == "":
		return "no SMTP server is set"
	}
	return ""
}

// Body is the JSON a webhook receives.
type Body struct {
	Type     string       `json:"type"` // "page"
	Delivery string       `json:"delivery"`
	SentAt   time.Time    `json:"sent_at"`
	Incident BodyIncident `json:"incident"`
	Page     BodyPage     `json:"page"`
	// AcknowledgeURL acknowledges the page as Page.Target when opened and
	// confirmed (once, for 24 hours).
	AcknowledgeURL string `json:"acknowledge_url"`
	// Text is a one-line message fit for an SMS.
	Text string `json:"text"`
}

// BodyIncident is the incident of a paged webhook body. Title is empty
// for a private incident: its details stay in Mattermost.
type BodyIncident struct {
	ID       string `json:"id"`
	Title    string `json:"title,omitempty"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	Private  bool   `json:"private,omitempty"`
	URL      string `json:"url"`
}

// BodyPage is the page of a webhook body.
type BodyPage struct {
	ID             string    `json:"id"`
	Level          int       `json:"level"`
	Role           string    `json:"role,omitempty"`
	Target         string    `json:"target"` // user id
	TargetUsername string    `json:"target_username"`
	PagedBy        string    `json:"paged_by"`
	Message        string    `json:"message,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// body builds what m says, for both ways.
func (s *Sender) body(m *app.ReachMessage, now time.Time) Body {
	inc := m.Incident
	b := Body{Type: "page", Delivery: m.Delivery, SentAt: now.UTC(), AcknowledgeURL: s.PageURL(wire.AckPath + m.Token)}
	if inc != nil {
		b.Incident = BodyIncident{ID: inc.ID, Severity: inc.Severity.String(), Status: inc.Status.Label(), Private: inc.Private,
			URL: s.PageURL("/incidents/" + inc.ID)}
		if !inc.Private {
			b.Incident.Title = inc.Title
		}
	}
	p := m.Page
	b.Page = BodyPage{ID: p.ID, Level: m.Level, Role: string(m.Target.Role), Target: m.Target.UserID, TargetUsername: trimAt(s.Name(m.Target.UserID)),
		PagedBy: trimAt(s.Name(p.By)), Message: p.Message, CreatedAt: p.CreatedAt.UTC()}
	b.Text = fmt.Sprintf("PAGE%s: %s. Acknowledge: %s", asRole(m.Target.Role), headline(b.Incident), b.AcknowledgeURL)
	return b
}

// headline names the incident in one line, its title left out when it is
// private.
func headline(i BodyIncident) string {
	if i.Private {
		return fmt.Sprintf("Private incident #%s %s", i.ID, i.Severity)
	}
	return fmt.Sprintf("Incident #%s %s: %s", i.ID, i.Severity, i.Title)
}

func asRole(r incident.Role) string {
	if r == "" {
		return ""
	}
	return " as " + r.Title()
}

func trimAt(s string) string {
	if len(s) > 0 && s[0] == '@' {
		return s[1:]
	}
	return s
}

// EmailPage sends the page to the target's Mattermost email address.
func (s *Sender) EmailPage(_ context.Context, m *app.ReachMessage) error {
	if why := s.EmailOff(); why != "" {
		return errors.New("the server sends no email: " + why)
	}
	u, appErr := s.API.GetUser(m.Target.UserID)
	if appErr != nil {
		return fmt.Errorf("read the paged user: %w", appErr)
	}
	if u.Email == "" || u.DeleteAt != 0 {
		return errors.New("the paged user has no email address or is deactivated")
	}
	b := s.body(m, time.Now())
	subject := "[PAGE" + asRole(m.Target.Role) + "] " + headline(b.Incident)
	if appErr := s.API.SendMail(u.Email, clip(subject, 200), emailHTML(b)); appErr != nil {
		return fmt.Errorf("send mail: %w", appErr)
	}
	return nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func emailHTML(b Body) string {
	e := html.EscapeString
	title := "a private incident (its details are in Mattermost)"
	if b.Incident.Title != "" {
		title = b.Incident.Title
	}
	role := ""
	if b.Page.Role != "" {
		role = " as <b>" + e(incident.Role(b.Page.Role).Title()) + "</b>"
	}
	msg := ""
	if b.Page.Message != "" {
		msg = "<p>Message: " + e(b.Page.Message) + "</p>"
	}
	return fmt.Sprintf(`<p>You are paged%s for incident <b>#%s</b> (%s, %s): %s.</p>%s`+
		`<p><a href="%s" style="display:inline-block;padding:10px 18px;background:#1c58d9;color:#fff;text-decoration:none;border-radius:4px">Acknowledge the page</a></p>`+
		`<p>The link works once, for 24 hours, without signing in. Or open the incident: <a href="%s">%s</a></p>`+
		`<p style="color:#666">Level %d of the page, paged by %s at %s UTC. Delivery %s.</p>`,
		role, e(b.Incident.ID), e(b.Incident.Severity), e(b.Incident.Status), e(title), msg,
		e(b.AcknowledgeURL), e(b.Incident.URL), e(b.Incident.URL), b.Page.Level, e(b.Page.PagedBy), b.Page.CreatedAt.Format("2006-01-02 15:04"), e(b.Delivery))
}

// Sign is the signature header value of body sent at ts with secret.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookPage posts the page's JSON body to url, signed with secret.
func (s *Sender) WebhookPage(ctx context.Context, m *app.ReachMessage, url, secret string) (int, error) {
	now := time.Now()
	body, err := json.Marshal(s.body(m, now))
	if err != nil {
		return 0, err
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mattermost-incident-bot")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	req.Header.Set(HeaderDelivery, m.Delivery)
	resp, err := s.client(req.URL.Hostname()).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// errInternal refuses an address the admins did not allow.
var errInternal = errors.New("the address is internal and its host is not in the setting \"Page webhook hosts\"")

// client dials only the addresses the host list allows for host, and
// follows no redirects (a redirect could lead anywhere).
func (s *Sender) client(host string) *http.Client {
	list := s.Hosts()
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !list.Dial(host, ap.Addr()) {
			return errInternal
		}
		return nil
	}}
	return &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil, TLSHandshakeTimeout: 5 * time.Second,
			ResponseHeaderTimeout: DefaultTimeout, MaxIdleConns: 1, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
