package cli

// Benchmarks of `dstack ps` against the real API router and a SQLite
// database over loopback HTTP, with 0, 10 and 100 active runs.
// BenchmarkPs runs the verb in process (parse the command line, POST
// runs/list, decode, render the table); BenchmarkPsWallTime runs the
// release-built binary as a user does, process start included (target: under
// 50 ms with 100 runs). Both print ms/op and the rows shown:
//
//	go test ./cli -run '^$' -bench Ps -benchtime 50x

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/api/apitest"
	"github.com/dstackgo/dstack/server/servertest"
)

func BenchmarkPs(b *testing.B) {
	for _, n := range []int{0, 10, 100} {
		b.Run(fmt.Sprintf("runs=%d", n), func(b *testing.B) {
			url := benchServer(b, n)
			args := []string{"ps", "--url", url, "--token", apitest.AdminToken, "--project", "main"}
			res := runCLI(b, "", args...)
			require.Equal(b, 0, res.Code, res.Stderr)
			rows := strings.Count(res.Stdout, "\n") - 1
			b.ResetTimer()
			for range b.N {
				res := runCLI(b, "", args...)
				require.Equal(b, 0, res.Code, res.Stderr)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

func BenchmarkPsWallTime(b *testing.B) {
	bin := servertest.Binary(b)
	for _, n := range []int{0, 100} {
		b.Run(fmt.Sprintf("runs=%d", n), func(b *testing.B) {
			url := benchServer(b, n)
			env := []string{"HOME=" + b.TempDir(), "PATH=" + os.Getenv("PATH")}
			ps := func() string {
				cmd := exec.Command(bin, "ps", "--url", url, "--token", apitest.AdminToken, "--project", "main")
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				require.NoError(b, err, "dstack ps: %v\n%s", err, out)
				return string(out)
			}
			rows := strings.Count(ps(), "\n") - 1
			b.ResetTimer()
			for range b.N {
				ps()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// benchServer serves the real router over a migrated SQLite database with
// n submitted runs (no background processing here: they stay active).
func benchServer(b *testing.B, n int) string {
	b.Helper()
	b.Setenv("HOME", b.TempDir())
	api := apitest.New(b, dbtest.OpenMigrated(b, dbtest.SQLiteTarget(b)))
	api.OK(apitest.AdminToken, "/api/project/main/repos/init",
		apitest.M{"repo_id": "none", "repo_info": apitest.M{"repo_type": "virtual"}, "repo_creds": nil}, nil)
	for i := range n {
		spec := json.RawMessage(fmt.Sprintf(`{"run_name":"bench-%d","repo_id":"none","repo_data":{"repo_type":"virtual"},`+
			`"configuration":{"type":"task","commands":["echo %d"]},"profile":{"name":"default"}}`, i, i))
		api.OK(apitest.AdminToken, "/api/project/main/runs/apply",
			apitest.M{"plan": apitest.M{"run_spec": spec, "current_resource": nil}, "force": false}, nil)
	}
	return serveHTTP(b, api)
}

// serveHTTP serves the router on a loopback port until the test ends.
func serveHTTP(tb testing.TB, api *apitest.Server) string {
	srv := httptest.NewServer(api.Handler)
	tb.Cleanup(srv.Close)
	return srv.URL
}
