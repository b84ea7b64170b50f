package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/api/apitest"
)

// listEvents calls events/list as token and returns the events.
func listEvents(t *testing.T, s *apitest.Server, token string, body M) []M {
	t.Helper()
	var out []M
	s.OK(token, "/api/events/list", body, &out)
	return out
}

// messages lists "type name: message" of events, oldest first.
func messages(es []M) []string {
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		t := e["targets"].([]any)[0].(map[string]any)
		out = append(out, t["type"].(string)+" "+t["name"].(string)+": "+e["message"].(string))
	}
	return out
}

func projectID(t *testing.T, s *apitest.Server, name string) string {
	t.Helper()
	var p struct {
		ProjectID string `json:"project_id"`
	}
	s.OK(apitest.AdminToken, "/api/projects/"+name+"/get", nil, &p)
	return p.ProjectID
}

func TestEventsRecordWhoDidWhat(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		alice := s.CreateUser("alice", "user")
		s.CreateProject(apitest.AdminToken, "lab", false)
		s.AddMember(apitest.AdminToken, "lab", "alice", "user")
		s.SetSecret(apitest.AdminToken, "main", "TOKEN", "v1")
		s.SetSecret(apitest.AdminToken, "main", "TOKEN", "v2")
		s.OK(apitest.AdminToken, "/api/project/main/secrets/delete", M{"secrets_names": []string{"TOKEN"}}, nil)
		s.OK(apitest.AdminToken, "/api/users/update", M{"username": "alice", "global_role": "user", "email": "a@example.com"}, nil)

		all := listEvents(t, s, apitest.AdminToken, nil)
		require.Subset(t, messages(all), []string{
			"user alice: User created",
			"project lab: Project created",
			"project lab: Project members added: alice (user)",
			"secret TOKEN: Secret created",
			"secret TOKEN: Secret updated",
			"secret TOKEN: Secret deleted",
			"user alice: User updated. Updated fields: email",
		})
		newest := all[0]
		requireUUID4(t, newest["id"])
		requireAwareTime(t, newest["recorded_at"])
		require.Equal(t, "admin", newest["actor_user"])
		require.Equal(t, false, newest["is_actor_user_deleted"])
		target := newest["targets"].([]any)[0].(map[string]any)
		require.Equal(t, M{"type": "user", "project_id": nil, "project_name": nil, "is_project_deleted": nil,
			"id": target["id"], "name": "alice"}, target)

		// Alice sees lab's events and her own, not main's.
		mine := messages(listEvents(t, s, alice, nil))
		require.Contains(t, mine, "project lab: Project created")
		require.Contains(t, mine, "user alice: User created")
		for _, m := range mine {
			require.NotContains(t, m, "TOKEN", "alice is no member of main")
		}

		// Filters: within a project, by target, by type, by actor.
		mainID := projectID(t, s, "main")
		within := listEvents(t, s, apitest.AdminToken, M{"within_projects": []string{mainID}})
		for _, e := range within {
			tg := e["targets"].([]any)[0].(map[string]any)
			require.Equal(t, mainID, tg["project_id"])
			require.Equal(t, "main", tg["project_name"])
			require.Equal(t, false, tg["is_project_deleted"])
		}
		require.Subset(t, messages(within), []string{"secret TOKEN: Secret created", "secret TOKEN: Secret deleted"})
		users := listEvents(t, s, apitest.AdminToken, M{"include_target_types": []string{"user"}})
		for _, m := range messages(users) {
			require.Regexp(t, `^user `, m)
		}
		require.Empty(t, listEvents(t, s, apitest.AdminToken, M{"actors": []any{nil}}), "no event here is the server's own")
		require.Empty(t, listEvents(t, s, alice, M{"target_projects": []string{mainID}}), "alice cannot see main")
		require.Len(t, listEvents(t, s, apitest.AdminToken, M{"target_projects": []string{mainID}}), 1, "main was created once")
	})
}

func TestEventsPaging(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		for _, n := range []string{"A", "B", "C", "D", "E"} {
			s.SetSecret(apitest.AdminToken, "main", n, "x")
		}
		all := listEvents(t, s, apitest.AdminToken, nil)
		for _, asc := range []bool{false, true} {
			var seen []string
			body := M{"limit": 2, "ascending": asc}
			for {
				page := listEvents(t, s, apitest.AdminToken, body)
				for _, e := range page {
					seen = append(seen, e["id"].(string))
				}
				if len(page) < 2 {
					break
				}
				last := page[len(page)-1]
				body = M{"limit": 2, "ascending": asc, "prev_recorded_at": last["recorded_at"], "prev_id": last["id"]}
			}
			require.Len(t, seen, len(all), "ascending=%v: every event once", asc)
			want := make([]string, len(all))
			for i, e := range all {
				if asc {
					want[len(all)-1-i] = e["id"].(string)
				} else {
					want[i] = e["id"].(string)
				}
			}
			require.Equal(t, want, seen, "ascending=%v", asc)
		}
	})
}

func TestEventsListValidation(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		id := "3f0b3a8e-6c1e-4d8c-9a52-2b0f1c7e9d11"
		tests := []struct {
			name string
			body M
		}{
			{"two target filters", M{"target_runs": []string{id}, "target_fleets": []string{id}}},
			{"two within filters", M{"within_runs": []string{id}, "within_projects": []string{id}}},
			{"empty filter", M{"target_runs": []string{}}},
			{"too many items", M{"actors": make([]any, 17)}},
			{"not a uuid", M{"within_runs": []string{"run-1"}}},
			{"unknown target type", M{"include_target_types": []string{"cluster"}}},
			{"limit zero", M{"limit": 0}},
			{"limit over 100", M{"limit": 101}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				apitest.Require400(t, s.Post(apitest.AdminToken, "/api/events/list", tc.body), "error")
			})
		}
	})
}
