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

// TestProjectDeleteRacesApply deletes projects while runs and fleets are
// applied into them, on PostgreSQL: the work lands first and the delete is
// refused, or the project is gone first and the apply answers 404, never
// both (work in a deleted project would be worked with no route to it).
func TestProjectDeleteRacesApply(t *testing.T) {
	s := apitest.New(t, dbtest.OpenMigrated(t, dbtest.PostgresTarget(t)))
	for round := range 10 {
		project := fmt.Sprintf("race%d", round)
		s.CreateProject(apitest.AdminToken, project, false)
		var wg sync.WaitGroup
		var work, del *apitest.Response
		wg.Add(2)
		go func() {
			defer wg.Done()
			if round%2 == 0 {
				work = applyRun(s, apitest.AdminToken, project, taskRunSpec("r"))
			} else {
				work = s.Post(apitest.AdminToken, "/api/project/"+project+"/fleets/apply",
					M{"plan": M{"spec": sshFleetSpec(t, "f", fmt.Sprintf("192.0.2.%d", 100+round))}, "force": true})
			}
		}()
		go func() {
			defer wg.Done()
			del = s.Post(apitest.AdminToken, "/api/projects/delete", M{"projects_names": []string{project}})
		}()
		wg.Wait()
		require.False(t, work.Status == http.StatusOK && del.Status == http.StatusOK,
			"round %d: both the apply and the delete succeeded: %s / %s", round, work.Body, del.Body)
		require.True(t, work.Status == http.StatusOK || del.Status == http.StatusOK,
			"round %d: one of them succeeds: %d %s / %d %s", round, work.Status, work.Body, del.Status, del.Body)
	}
}
