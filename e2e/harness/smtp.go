package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"
)

// SMTPSink is a small SMTP server on loopback that accepts every message
// and keeps it, for tests that check what the Mattermost server mails. It
// speaks plain SMTP (no TLS, no auth), which is what a server set to
// ConnectionSecurity "" and EnableSMTPAuth false uses.
type SMTPSink struct {
	ln      net.Listener
	mu      sync.Mutex
	mails   []Mail
	changed chan struct{}
}

// Mail is one message the sink accepted.
type Mail struct {
	At   time.Time // when the sink accepted it (after DATA)
	From string
	To   []string
	Raw  []byte
}

// StartSMTPSink listens on a free loopback port.
func StartSMTPSink() (*SMTPSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp sink: %w", err)
	}
	s := &SMTPSink{ln: ln, changed: make(chan struct{})}
	go s.serve()
	return s, nil
}

// Port is the sink's port.
func (s *SMTPSink) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the sink.
func (s *SMTPSink) Close() { s.ln.Close() }

func (s *SMTPSink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *SMTPSink) session(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(line string) { _, _ = w.WriteString(line + "\r\n"); _ = w.Flush() }
	say("220 sink ESMTP")
	var m Mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-sink")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "HELO"):
			say("250 sink")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m = Mail{From: strings.Trim(strings.TrimSpace(line[len("MAIL FROM:"):]), "<>")}
			say("250 OK")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.To = append(m.To, strings.Trim(strings.TrimSpace(line[len("RCPT TO:"):]), "<>"))
			say("250 OK")
		case cmd == "DATA":
			say("354 end with .")
			var data bytes.Buffer
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Raw, m.At = data.Bytes(), time.Now()
			s.add(m)
			say("250 OK queued")
		case cmd == "RSET", cmd == "NOOP":
			say("250 OK")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func (s *SMTPSink) add(m Mail) {
	s.mu.Lock()
	s.mails = append(s.mails, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Wait returns the first mail match accepts, waiting up to timeout.
func (s *SMTPSink) Wait(ctx context.Context, timeout time.Duration, match func(Mail) bool) (Mail, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		s.mu.Lock()
		for _, m := range s.mails {
			if match(m) {
				s.mu.Unlock()
				return m, nil
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Mail{}, fmt.Errorf("no matching mail within %s: %w", timeout, ctx.Err())
		}
	}
}

// Mails returns every mail accepted so far.
func (s *SMTPSink) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Subject is the mail's decoded subject.
func (m Mail) Subject() string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return ""
	}
	s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return msg.Header.Get("Subject")
	}
	return s
}

// Text is the mail's body, every text part decoded (quoted-printable or
// base64) and joined.
func (m Mail) Text() string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return string(m.Raw)
	}
	return partText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

func partText(contentType, encoding string, body io.Reader) string {
	mt, params, _ := mime.ParseMediaType(contentType)
	if strings.HasPrefix(mt, "multipart/") {
		var out []string
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				break
			}
			out = append(out, partText(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p))
		}
		return strings.Join(out, "\n")
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, _ := io.ReadAll(body)
	return string(b)
}

// UseSMTP points the server's email at sink and turns email notifications
// on; the returned func turns them off again.
func (s *Server) UseSMTP(ctx context.Context, sink *SMTPSink) (func(), error) {
	patch := func(on bool) error {
		r, err := s.Admin.Client.DoAPIPutJSON(ctx, "/config/patch", map[string]any{"EmailSettings": map[string]any{
			"SendEmailNotifications": on, "SMTPServer": "127.0.0.1", "SMTPPort": fmt.Sprint(sink.Port()),
			"ConnectionSecurity": "", "EnableSMTPAuth": false, "SkipServerCertificateVerification": true,
			"FeedbackEmail": "incident-bot@example.com", "FeedbackName": "Incident bot", "SMTPServerTimeout": 10,
		}})
		if err != nil {
			return fmt.Errorf("point email at the SMTP sink: %w", err)
		}
		r.Body.Close()
		return nil
	}
	if err := patch(true); err != nil {
		return nil, err
	}
	return func() { _ = patch(false) }, nil
}
