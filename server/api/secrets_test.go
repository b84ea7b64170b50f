package api_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/api/apitest"
)

func TestSecretsRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		const base = "/api/project/main/secrets/"
		created := s.OK(apitest.AdminToken, base+"create_or_update", M{"name": "API_KEY", "value": "s3cr3t"}, nil).Object(t)
		require.Equal(t, []string{"id", "name", "value"}, slices.Sorted(maps.Keys(created)))
		requireUUID4(t, created["id"])
		require.Equal(t, "s3cr3t", created["value"])
		s.SetSecret(apitest.AdminToken, "main", "other", "")

		list := s.OK(apitest.AdminToken, base+"list", nil, nil).List(t)
		require.Len(t, list, 2)
		for _, x := range list {
			m := x.(map[string]any)
			require.Contains(t, m, "value", "value is serialized as null")
			require.Nil(t, m["value"], "list never reveals values")
		}

		got := s.OK(apitest.AdminToken, base+"get", M{"name": "API_KEY"}, nil).Object(t)
		require.Equal(t, created, got)
		empty := s.OK(apitest.AdminToken, base+"get", M{"name": "other"}, nil).Object(t)
		require.Equal(t, "", empty["value"], "an empty value is a value")

		updated := s.OK(apitest.AdminToken, base+"create_or_update", M{"name": "API_KEY", "value": "v2"}, nil).Object(t)
		require.Equal(t, created["id"], updated["id"], "an update keeps the id")
		got = s.OK(apitest.AdminToken, base+"get", M{"name": "API_KEY"}, nil).Object(t)
		require.Equal(t, "v2", got["value"])

		apitest.Require400(t, s.Post(apitest.AdminToken, base+"get", M{"name": "api_key"}), "resource_not_exists")
		apitest.Require400(t, s.Post(apitest.AdminToken, base+"delete", M{"secrets_names": []string{"API_KEY", "ghost"}}), "resource_not_exists")
		require.Len(t, s.OK(apitest.AdminToken, base+"list", nil, nil).List(t), 2, "a refused delete removes nothing")
		s.OK(apitest.AdminToken, base+"delete", M{"secrets_names": []string{"API_KEY", "other"}}, nil)
		require.Empty(t, s.OK(apitest.AdminToken, base+"list", nil, nil).List(t))
		apitest.Require400(t, s.Post(apitest.AdminToken, base+"get", M{"name": "API_KEY"}), "resource_not_exists")

		// Secrets belong to one project.
		s.CreateProject(apitest.AdminToken, "other-project", false)
		s.SetSecret(apitest.AdminToken, "other-project", "API_KEY", "x")
		require.Empty(t, s.OK(apitest.AdminToken, base+"list", nil, nil).List(t))
	})
}

func TestSecretValidation(t *testing.T) {
	each(t, func(t *testing.T, s *apitest.Server) {
		const path = "/api/project/main/secrets/create_or_update"
		tests := []struct {
			name, secret, value string
			field               string // "" = accepted
		}{
			{"letters digits dash underscore", "My-Secret_1", "v", ""},
			{"200 chars", strings.Repeat("n", 200), "v", ""},
			{"5000 chars", "long", strings.Repeat("v", 5000), ""},
			{"5000 multi-byte chars", "wide", strings.Repeat("é", 5000), ""},
			{"empty name", "", "v", "name"},
			{"201 chars", strings.Repeat("n", 201), "v", "name"},
			{"space", "a b", "v", "name"},
			{"dot", "a.b", "v", "name"},
			{"interpolation syntax", "${{ secrets.x }}", "v", "name"},
			{"5001 chars", "toolong", strings.Repeat("v", 5001), "value"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := s.Post(apitest.AdminToken, path, M{"name": tc.secret, "value": tc.value})
				if tc.field == "" {
					require.Equal(t, 200, r.Status, "%s", r.Body)
					got := s.OK(apitest.AdminToken, "/api/project/main/secrets/get", M{"name": tc.secret}, nil).Object(t)
					require.Equal(t, tc.value, got["value"])
					return
				}
				d := apitest.Require400(t, r, "error")
				require.Equal(t, []string{tc.field}, d.Fields)
				apitest.Require400(t, s.Post(apitest.AdminToken, "/api/project/main/secrets/get", M{"name": tc.secret}), "resource_not_exists")
			})
		}
	})
}
