package runner

import (
	"fmt"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// phase gates the API calls; it mirrors upstream's runner states.
//
//	waitSubmit --submit--> waitRun --run--> serveLogs --job finished--> waitLogsFinished
//	     |                    |                                              ^
//	     +------stop----------+------------------stop------------------------+
type phase string

const (
	phaseWaitSubmit       phase = "wait_submit"
	phaseWaitRun          phase = "wait_run"
	phaseServeLogs        phase = "serve_logs"
	phaseWaitLogsFinished phase = "wait_logs_finished"
)

// jobSubmitted is the implicit initial job state; it is never reported.
const jobSubmitted schemas.JobState = "submitted"

// jobTransitionAllowed is the job state machine. Every reported state change
// goes through it:
//
//	submitted --setup ok--> running --exit 0----------------> done
//	    |                      |-----exit != 0 / error-------> failed
//	    |                      +-----stop / max_duration-----> terminated
//	    +---setup error--> failed
//	    +---stop---------> terminated
//
// done, failed and terminated are final.
func jobTransitionAllowed(from, to schemas.JobState) bool {
	switch from {
	case jobSubmitted:
		return to == schemas.JobStateRunning || to == schemas.JobStateFailed || to == schemas.JobStateTerminated
	case schemas.JobStateRunning:
		return to == schemas.JobStateDone || to == schemas.JobStateFailed || to == schemas.JobStateTerminated
	}
	return false
}

// jobResult is the outcome that finishes a job.
type jobResult struct {
	State      schemas.JobState
	Reason     schemas.TerminationReason
	Message    string
	ExitStatus *int
}

// setJobState validates and records a transition. Callers hold s.mu.
func (s *Server) setJobState(r jobResult) error {
	if !jobTransitionAllowed(s.jobState, r.State) {
		return fmt.Errorf("job state %s -> %s not allowed", s.jobState, r.State)
	}
	s.jobState = r.State
	s.states = append(s.states, schemas.JobStateEvent{
		State:              r.State,
		Timestamp:          s.clock.Next(),
		TerminationReason:  string(r.Reason),
		TerminationMessage: r.Message,
		ExitStatus:         r.ExitStatus,
	})
	s.log.Info("job state changed", "state", r.State, "reason", r.Reason,
		"message", r.Message, "exit_status", derefInt(r.ExitStatus))
	return nil
}

func derefInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// statesSince returns the job state events newer than ts. Callers hold s.mu.
func (s *Server) statesSince(ts int64) []schemas.JobStateEvent {
	i := len(s.states)
	for i > 0 && s.states[i-1].Timestamp > ts {
		i--
	}
	return append([]schemas.JobStateEvent{}, s.states[i:]...)
}
