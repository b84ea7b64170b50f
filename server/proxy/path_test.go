package proxy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitServicePath(t *testing.T) {
	tests := []struct {
		name               string
		path               string
		project, run, rest string
		ok                 bool
	}{
		{name: "root", path: "/proxy/services/main/web/", project: "main", run: "web", rest: "/", ok: true},
		{name: "no trailing slash", path: "/proxy/services/main/web", project: "main", run: "web", rest: "", ok: true},
		{name: "deep path", path: "/proxy/services/main/web/a/b/", project: "main", run: "web", rest: "/a/b/", ok: true},
		{name: "no run", path: "/proxy/services/main/", ok: false},
		{name: "no project", path: "/proxy/services//web/", ok: false},
		{name: "other prefix", path: "/proxy/models/main/models", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project, run, rest, ok := splitServicePath(tt.path)
			require.Equal(t, tt.ok, ok)
			if tt.ok {
				require.Equal(t, []string{tt.project, tt.run, tt.rest}, []string{project, run, rest})
			}
		})
	}
}
