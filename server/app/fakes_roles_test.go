package app

import (
	"context"
	"fmt"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
)

func (f *fakeChat) PostHandover(_ context.Context, inc *incident.Incident, role incident.Role) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return fmt.Sprintf("handover%d-%s", f.n, role), nil
}

func (f *fakeChat) CloseHandover(_ context.Context, _ *incident.Incident, role incident.Role, postID, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = append(f.closed, postID+"@"+by)
	return nil
}
