package api_test

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/api/apitest"
)

// tickingClock cycles through timestamps with ties and fractions of varying
// length (.5 vs .45 vs .50001), so keyset pagination must order by
// (created_at, id) correctly on both dialects.
func tickingClock() apitest.Option {
	base := time.Date(2026, 8, 21, 13, 11, 0, 0, time.UTC)
	offsets := []time.Duration{0, 0, 500 * time.Millisecond, 450 * time.Millisecond, 500 * time.Millisecond,
		500010 * time.Microsecond, time.Second, time.Second, 999999 * time.Microsecond, 2 * time.Second}
	var n atomic.Int64
	return apitest.WithClock(func() time.Time {
		i := n.Add(1) - 1
		return base.Add(offsets[int(i)%len(offsets)] + time.Duration(i/int64(len(offsets)))*time.Hour)
	})
}

// listing describes one paginated list route.
type listing struct {
	path, key, idField, nameField string
	prefix                        string // of the names the test creates
}

var (
	usersListing    = listing{"/api/users/list", "users", "id", "username", "u"}
	projectsListing = listing{"/api/projects/list", "projects", "project_id", "project_name", "p"}
)

func TestListPagination(t *testing.T) {
	for _, l := range []listing{usersListing, projectsListing} {
		t.Run(l.key, func(t *testing.T) {
			each(t, func(t *testing.T, s *apitest.Server) {
				for i := range 10 {
					if l == usersListing {
						s.CreateUserNoToken(fmt.Sprintf("%s%d", l.prefix, i))
					} else {
						s.CreateProject(apitest.AdminToken, fmt.Sprintf("%s%d", l.prefix, i), false)
					}
				}
				const total = 11 // plus the admin, or the main project

				desc := s.OK(apitest.AdminToken, l.path, nil, nil).List(t)
				require.Len(t, desc, total, "a bare array unless return_total_count")
				for i := 1; i < len(desc); i++ {
					a, b := item(t, desc[i-1], l), item(t, desc[i], l)
					require.True(t, a.at.After(b.at) || (a.at.Equal(b.at) && a.id < b.id), "newest first, ties by id: %v then %v", a, b)
				}
				asc := s.OK(apitest.AdminToken, l.path, M{"ascending": true}, nil).List(t)
				require.Equal(t, reversed(desc), asc)

				for _, ascending := range []bool{false, true} {
					want := desc
					if ascending {
						want = asc
					}
					var got []any
					req := M{"limit": 3, "ascending": ascending}
					for range total {
						page := s.OK(apitest.AdminToken, l.path, req, nil).List(t)
						if len(page) == 0 {
							break
						}
						require.LessOrEqual(t, len(page), 3)
						got = append(got, page...)
						last := page[len(page)-1].(map[string]any)
						req = M{"limit": 3, "ascending": ascending, "prev_created_at": last["created_at"], "prev_id": last[l.idField]}
					}
					require.Equal(t, want, got, "ascending=%v", ascending)
				}

				counted := s.OK(apitest.AdminToken, l.path, M{"return_total_count": true, "limit": 2}, nil).Object(t)
				require.Len(t, counted, 2, "exactly total_count and %s", l.key)
				require.EqualValues(t, total, counted["total_count"])
				require.Equal(t, desc[:2], counted[l.key])
				zero := s.OK(apitest.AdminToken, l.path, M{"return_total_count": true, "limit": 0}, nil).Object(t)
				require.EqualValues(t, total, zero["total_count"])
				require.Equal(t, []any{}, zero[l.key])

				matched := s.OK(apitest.AdminToken, l.path, M{"name_pattern": l.prefix + "1"}, nil).List(t)
				require.Len(t, matched, 1)
				upper := s.OK(apitest.AdminToken, l.path, M{"name_pattern": strings.ToUpper(l.prefix) + "1"}, nil).List(t)
				require.Equal(t, matched, upper, "name_pattern ignores case")

				for _, tc := range []struct {
					name  string
					body  M
					field string
				}{
					{"limit above 2000", M{"limit": 2001}, "limit"},
					{"negative limit", M{"limit": -1}, "limit"},
					{"prev_created_at without prev_id", M{"prev_created_at": "2026-08-21T13:11:00Z"}, "prev_id"},
					{"name_pattern with a wildcard", M{"name_pattern": "u%"}, "name_pattern"},
				} {
					d := apitest.Require400(t, s.Post(apitest.AdminToken, l.path, tc.body), "error")
					require.Equal(t, []string{tc.field}, d.Fields, tc.name)
				}
			}, tickingClock())
		})
	}
}

type listItem struct {
	at       time.Time
	id, name string
}

func item(t *testing.T, v any, l listing) listItem {
	t.Helper()
	m := v.(map[string]any)
	requireUUID4(t, m[l.idField])
	return listItem{at: requireAwareTime(t, m["created_at"]), id: m[l.idField].(string), name: m[l.nameField].(string)}
}

func reversed(l []any) []any {
	out := slices.Clone(l)
	slices.Reverse(out)
	return out
}

func TestListVisibility(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		alice, bob := s.CreateUser("alice", "user"), s.CreateUser("bob", "user")
		s.CreateProject(alice, "a-private", false)
		s.CreateProject(alice, "a-public", true)
		s.CreateProject(bob, "b-private", false)

		names := func(token string, body any) []string {
			var ps []struct {
				Name    string `json:"project_name"`
				Members []any  `json:"members"`
				Backs   []any  `json:"backends"`
			}
			s.OK(token, "/api/projects/list", body, &ps)
			var out []string
			for _, p := range ps {
				require.NotNil(t, p.Members, "members is [] in lists, not null")
				require.Empty(t, p.Members)
				require.NotNil(t, p.Backs)
				out = append(out, p.Name)
			}
			slices.Sort(out)
			return out
		}
		require.Equal(t, []string{"a-private", "a-public", "b-private", "main"}, names(apitest.AdminToken, nil), "admins see every project")
		require.Equal(t, []string{"a-public", "b-private"}, names(bob, nil), "members see theirs and public ones")
		require.Equal(t, []string{"b-private"}, names(bob, M{"include_not_joined": false}))

		var users []struct {
			Username string `json:"username"`
		}
		s.OK(bob, "/api/users/list", nil, &users)
		require.Len(t, users, 1, "non-admins list only themselves")
		require.Equal(t, "bob", users[0].Username)
	})
}
