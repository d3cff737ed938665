package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Acknowledge links. A page that goes out by email or webhook carries a
// link that acknowledges it without a chat session: signed with a secret
// of the installation (HMAC-SHA256), naming the page, its level and the
// person, expiring after ackLinkTTL, and used once (its nonce is recorded
// when it acknowledges). The link's page asks for a button press before
// acknowledging, so a mail scanner fetching every link acknowledges
// nothing.

// ackLinkTTL is how long an acknowledge link works.
const ackLinkTTL = 24 * time.Hour

// ackSecretDoc holds the installation's link-signing secret.
const ackSecretDoc = "reach/v1/secret"

type ackSecret struct {
	Key string `json:"key"`
}

type ackClaims struct {
	Page    string `json:"p"`
	User    string `json:"u"`
	Level   int    `json:"l"`
	Expires int64  `json:"e"`
	Nonce   string `json:"n"`
}

// secretKey returns the signing secret, made on first use (one for the
// whole cluster: whoever creates it first, the others read it).
func (a *App) secretKey(ctx context.Context) ([]byte, error) {
	s, ok, err := loadDoc[ackSecret](ctx, a.store, ackSecretDoc)
	if err != nil {
		return nil, err
	}
	if !ok || s.Key == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		if _, err := createDoc(ctx, a.store, ackSecretDoc, &ackSecret{Key: hex.EncodeToString(b[:])}); err != nil {
			return nil, err
		}
		if s, _, err = loadDoc[ackSecret](ctx, a.store, ackSecretDoc); err != nil {
			return nil, err
		}
	}
	return hex.DecodeString(s.Key)
}

// ackToken signs a link that acknowledges page id for user at level.
func (a *App) ackToken(ctx context.Context, id, user string, level int) (string, error) {
	key, err := a.secretKey(ctx)
	if err != nil {
		return "", err
	}
	var n [9]byte
	_, _ = rand.Read(n[:])
	c := ackClaims{Page: id, User: user, Level: level, Expires: a.now().Add(ackLinkTTL).Unix(), Nonce: base64.RawURLEncoding.EncodeToString(n[:])}
	body, _ := json.Marshal(c)
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + hmacSign(key, payload), nil
}

func hmacSign(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// errBadLink refuses a link that is not ours, altered or expired; it says
// no more than that.
var errBadLink = incident.Forbiddenf("this acknowledge link is not valid (altered, or expired after 24 hours): acknowledge the page in Mattermost")

// readAckToken checks token's signature and expiry and returns its claims.
func (a *App) readAckToken(ctx context.Context, token string) (*ackClaims, error) {
	payload, mac, ok := strings.Cut(token, ".")
	if !ok || len(token) > 1024 {
		return nil, errBadLink
	}
	key, err := a.secretKey(ctx)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal([]byte(hmacSign(key, payload)), []byte(mac)) {
		return nil, errBadLink
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	var c ackClaims
	if err != nil || json.Unmarshal(body, &c) != nil || !ValidPageID(c.Page) || c.User == "" {
		return nil, errBadLink
	}
	if a.now().Unix() > c.Expires {
		return nil, errBadLink
	}
	return &c, nil
}

// AckLink describes an acknowledge link's page, for the page that asks
// for the button press.
type AckLink struct {
	Page     *Page
	Incident *incident.Incident
	User     string
	Used     bool
}

// ReadAckLink checks token and returns what it acknowledges.
func (a *App) ReadAckLink(ctx context.Context, token string) (*AckLink, error) {
	c, err := a.readAckToken(ctx, token)
	if err != nil {
		return nil, err
	}
	p, err := a.PageRecord(ctx, c.Page)
	if err != nil {
		return nil, err
	}
	inc, err := a.pageIncident(ctx, p)
	if err != nil {
		return nil, err
	}
	st, _, err := loadDoc[reachState](ctx, a.store, reachStateDoc(c.Page, c.Level))
	if err != nil {
		return nil, err
	}
	return &AckLink{Page: p, Incident: inc, User: c.User, Used: slices.Contains(st.Used, c.Nonce)}, nil
}

// AcknowledgeByLink acknowledges the page of token as the person it was
// sent to, once: a used link acknowledges nothing more.
func (a *App) AcknowledgeByLink(ctx context.Context, token string) (*Page, error) {
	c, err := a.readAckToken(ctx, token)
	if err != nil {
		return nil, err
	}
	doc := reachStateDoc(c.Page, c.Level)
	st, _, err := loadDoc[reachState](ctx, a.store, doc)
	if err != nil {
		return nil, err
	}
	if slices.Contains(st.Used, c.Nonce) {
		return nil, incident.Conflictf("this acknowledge link was used already")
	}
	p, err := a.AcknowledgePage(ctx, c.User, c.Page)
	if err != nil && err != ErrPageAlreadyAcknowledged {
		return p, err
	}
	if _, _, uerr := updateDoc(ctx, a.store, doc, func(st *reachState, _ bool) error {
		if slices.Contains(st.Used, c.Nonce) {
			return errUnchanged
		}
		st.Used = append(st.Used, c.Nonce)
		return nil
	}); uerr != nil {
		a.log.Warn().Err(uerr).Str("page", c.Page).Msg("mark an acknowledge link used")
	}
	return p, err
}
