package harness

import (
	"context"
	"fmt"

	"github.com/mattermost/mattermost/server/public/model"
)

// TeamName is the name (URL slug) of the team Start creates.
const TeamName = "incidents"

// populate creates the admin, the team and n users. The first user created on
// a fresh server becomes system admin, which is why the admin signs up without
// credentials and everyone after is created by the admin.
func (s *Server) populate(ctx context.Context, n int) error {
	admin, err := s.signUp(ctx, model.NewAPIv4Client(s.URL), "admin")
	if err != nil {
		return err
	}
	s.Admin = admin

	s.Team, _, err = admin.Client.CreateTeam(ctx, &model.Team{
		Name:        TeamName,
		DisplayName: "Incidents",
		Type:        model.TeamOpen,
	})
	if err != nil {
		return fmt.Errorf("create team: %w", err)
	}
	if s.TownSquare, _, err = admin.Client.GetChannelByName(ctx, model.DefaultChannelName, s.Team.Id, ""); err != nil {
		return fmt.Errorf("find town-square: %w", err)
	}
	if s.OffTopic, _, err = admin.Client.GetChannelByName(ctx, "off-topic", s.Team.Id, ""); err != nil {
		return fmt.Errorf("find off-topic: %w", err)
	}

	for i := 1; i <= n; i++ {
		u, err := s.signUp(ctx, admin.Client, fmt.Sprintf("user%d", i))
		if err != nil {
			return err
		}
		// Joining a team also joins its default channels.
		if _, _, err := admin.Client.AddTeamMember(ctx, s.Team.Id, u.Id); err != nil {
			return fmt.Errorf("add %s to team: %w", u.Username, err)
		}
		s.Users = append(s.Users, u)
	}
	return nil
}

// signUp creates a user through creator and logs it in with a client of its
// own. Passwords are derived from the username so a developer can type them.
func (s *Server) signUp(ctx context.Context, creator *model.Client4, username string) (*User, error) {
	password := username + "-Passw0rd!"
	created, _, err := creator.CreateUser(ctx, &model.User{
		Username: username,
		Email:    username + "@example.com",
		Password: password,
	})
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", username, err)
	}
	client := model.NewAPIv4Client(s.URL)
	me, _, err := client.Login(ctx, username, password)
	if err != nil {
		return nil, fmt.Errorf("log in as %s: %w", username, err)
	}
	if me.Id != created.Id {
		return nil, fmt.Errorf("log in as %s: got user %s, want %s", username, me.Id, created.Id)
	}
	return &User{User: me, Password: password, Client: client}, nil
}
