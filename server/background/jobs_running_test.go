package background

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/sched"
)

func TestFault(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want sched.AgentReport
	}{
		{"a job fault stops the job", fmt.Errorf("submit: %w", jobFault{errors.New("secret token is not set")}),
			sched.AgentReport{Broken: "submit: secret token is not set"}},
		{"a replica still being placed waits", fmt.Errorf("cluster: %w", errNodesPending), sched.AgentReport{}},
		{"anything else is the host not answering", errors.New("ssh: connect: connection refused"),
			sched.AgentReport{Unreachable: "ssh: connect: connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, fault(sched.AgentReport{}, tt.err))
		})
	}
}
