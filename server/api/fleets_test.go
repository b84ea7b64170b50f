package api_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server/api/apitest"
)

// TestConcurrentAppliesOfOneHost applies fleets of one host from two
// projects at once, on PostgreSQL, round after round: exactly one fleet
// gets the host, the other apply is refused.
func TestConcurrentAppliesOfOneHost(t *testing.T) {
	s := apitest.New(t, dbtest.OpenMigrated(t, dbtest.PostgresTarget(t)))
	s.CreateProject(apitest.AdminToken, "other", false)
	for round := range 10 {
		host := fmt.Sprintf("192.0.2.%d", 20+round)
		var wg sync.WaitGroup
		statuses := map[string]int{}
		var mu sync.Mutex
		for _, project := range []string{"main", "other"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				spec := sshFleetSpec(t, fmt.Sprintf("f%d", round), host)
				r := s.Post(apitest.AdminToken, "/api/project/"+project+"/fleets/apply", M{"plan": M{"spec": spec}, "force": true})
				mu.Lock()
				statuses[project] = r.Status
				mu.Unlock()
				if r.Status != http.StatusOK {
					d := apitest.Require400(t, r, "")
					require.Contains(t, d.Msg, host)
				}
			}()
		}
		wg.Wait()
		ok := 0
		for _, st := range statuses {
			if st == http.StatusOK {
				ok++
			}
		}
		require.Equal(t, 1, ok, "round %d (%s): one fleet gets the host: %v", round, host, statuses)
	}
}
