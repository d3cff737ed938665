package kvstore_test

import "github.com/incidentbot/mattermost-incident-bot/server/store/kvstore/kvtest"

func newCountingKV() *kvtest.Counting { return kvtest.New() }
