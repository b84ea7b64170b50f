package tui

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// fakeBackend is the console's Backend in memory, with switches for the
// failures the pages must survive.
type fakeBackend struct {
	mu       sync.Mutex
	ident    Identity
	runs     []schemas.Run
	fleets   []schemas.Fleet
	events   []schemas.Event
	svcStats []schemas.ServiceStats
	logs     map[string][]schemas.LogEvent // by job submission id
	enc      *schemas.EncryptionStatus
	status   *schemas.ServerStatus
	bends    []ProjectBackends
	errs     map[string]error // by method name
	down     bool             // every call fails as unreachable
	stopped  []string
	polls    []schemas.PollLogsRequest
}

func (f *fakeBackend) fail(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return fmt.Errorf("%w (%w)", ErrUnreachable, errors.New("cannot reach the dstack server at http://127.0.0.1:3000: is it running? (connect: connection refused)"))
	}
	return f.errs[method]
}

func (f *fakeBackend) ListRuns(_ context.Context, _ string, onlyActive bool) ([]schemas.Run, error) {
	if err := f.fail("ListRuns"); err != nil {
		return nil, err
	}
	var out []schemas.Run
	for _, r := range f.runs {
		if !onlyActive || !r.Status.Finished() {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeBackend) GetRun(_ context.Context, _ string, name string) (*schemas.Run, error) {
	if err := f.fail("GetRun"); err != nil {
		return nil, err
	}
	for _, r := range f.runs {
		if runName(&r) == name {
			return &r, nil
		}
	}
	return nil, fmt.Errorf("run %s not found", name)
}

func (f *fakeBackend) StopRun(_ context.Context, _ string, name string, abort bool) error {
	if err := f.fail("StopRun"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, fmt.Sprintf("%s abort=%v", name, abort))
	return nil
}

func (f *fakeBackend) ListFleets(context.Context, string) ([]schemas.Fleet, error) {
	return f.fleets, f.fail("ListFleets")
}

func (f *fakeBackend) ListEvents(context.Context, string) ([]schemas.Event, error) {
	return f.events, f.fail("ListEvents")
}

// PollLogs pages through the events after start_time, next_token being the
// offset of the next page.
func (f *fakeBackend) PollLogs(_ context.Context, _ string, req schemas.PollLogsRequest) (*schemas.JobSubmissionLogs, error) {
	if err := f.fail("PollLogs"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls = append(f.polls, req)
	var evs []schemas.LogEvent
	for _, e := range f.logs[req.JobSubmissionID] {
		if req.StartTime == nil || e.Timestamp.After(*req.StartTime) {
			evs = append(evs, e)
		}
	}
	from := 0
	if req.NextToken != nil {
		from, _ = strconv.Atoi(*req.NextToken)
	}
	to := min(from+*req.Limit, len(evs))
	out := &schemas.JobSubmissionLogs{Logs: evs[min(from, to):to]}
	if to < len(evs) {
		tok := strconv.Itoa(to)
		out.NextToken = &tok
	}
	return out, nil
}

func (f *fakeBackend) EncryptionStatus(context.Context) (*schemas.EncryptionStatus, error) {
	return f.enc, f.fail("EncryptionStatus")
}

func (f *fakeBackend) ServerStatus(context.Context) (*schemas.ServerStatus, error) {
	return f.status, f.fail("ServerStatus")
}

func (f *fakeBackend) Whoami(context.Context) (*Identity, error) {
	id := f.ident
	return &id, f.fail("Whoami")
}

// addLogs appends lines to a submission's logs, a second apart.
func (f *fakeBackend) addLogs(sub string, lines ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.logs == nil {
		f.logs = map[string][]schemas.LogEvent{}
	}
	evs := f.logs[sub]
	ts := testNow.Add(-time.Hour)
	if len(evs) > 0 {
		ts = evs[len(evs)-1].Timestamp
	}
	for _, l := range lines {
		ts = ts.Add(time.Second)
		evs = append(evs, schemas.LogEvent{Timestamp: ts, LogSource: "stdout",
			Message: base64.StdEncoding.EncodeToString([]byte(l + "\n"))})
	}
	f.logs[sub] = evs
}

func (f *fakeBackend) ServiceStats(context.Context, string) ([]schemas.ServiceStats, error) {
	err := f.fail("ServiceStats")
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.svcStats, err
}

func (f *fakeBackend) ListBackends(context.Context) ([]ProjectBackends, error) {
	return f.bends, f.fail("ListBackends")
}
