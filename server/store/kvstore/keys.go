package kvstore

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

// Every key is built here, one function per kind. Keys are short, carry a
// kind prefix and a format version (so a later format can live beside this
// one during a rolling upgrade) and never start with a prefix the plugin
// library reserves (mmi_, once_, mutex_, cron_).
const (
	incidentPrefix  = "inc/v1/"
	channelPrefix   = "ch/v1/"
	timelinePrefix  = "tl/v1/"
	activeKey       = "idx/v1/active" // before v2: one set of every active incident
	activePrefix    = "idx/v2/active/"
	monthsKey       = "idx/v1/months"
	monthPrefix     = "idx/v1/month/" // before v2: one set per month
	monthLogPrefix  = "idx/v2/month/"
	claimPrefix     = "clm/v1/"
	claimHashPrefix = "clmh/v1/"
)

// maxIDRunes bounds incident ids so that every key built from one stays far
// under the KV's 150-rune limit.
const maxIDRunes = 64

func incidentKey(id string) string { return incidentPrefix + id }

func channelKey(channelID string) string { return channelPrefix + channelID }

// timelineHeadKey holds the index of the timeline's last chunk, or is absent
// while the timeline has at most chunk 0.
func timelineHeadKey(id string) string { return timelinePrefix + id + "/h" }

func chunkKey(id string, chunk int) string {
	return timelinePrefix + id + "/" + strconv.Itoa(chunk)
}

// monthKey is the v1 index of the incidents created in a month, as monthOf
// names it: read, no longer written.
func monthKey(month string) string { return monthPrefix + month }

// monthLog names the v2 index of a month: an append-only log of ids.
func monthLog(month string) string { return monthLogPrefix + month }

// activeShards is the number of shards of the active index: a status
// change rewrites one shard, whose size is the active incidents over
// activeShards.
const activeShards = 32

// activeShardKey names shard i of the active index.
func activeShardKey(i int) string { return activePrefix + strconv.Itoa(i) }

// activeShardOf returns the shard that holds incident id.
func activeShardOf(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % activeShards)
}

// monthOf names t's calendar month in UTC ("2026-03"); the names sort as
// the months do.
func monthOf(t time.Time) string { return t.UTC().Format("2006-01") }

// claimKey uses the caller's key as is when it fits and its SHA-256 under a
// separate prefix when it does not, so a long key cannot collide with a
// short one.
func claimKey(key string) string {
	if utf8.RuneCountInString(claimPrefix+key) <= model.KeyValueKeyMaxRunes {
		return claimPrefix + key
	}
	sum := sha256.Sum256([]byte(key))
	return claimHashPrefix + hex.EncodeToString(sum[:])
}

// checkID rejects ids that would not make sound keys: a "/" could make one
// incident's keys overlap another's.
func checkID(id string) error {
	if id == "" || strings.Contains(id, "/") || utf8.RuneCountInString(id) > maxIDRunes {
		return incident.Invalidf("incident id %q is not valid: use up to %d characters without \"/\"", id, maxIDRunes)
	}
	return nil
}
