package tui

import (
	"errors"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/require"
)

func TestPageSwitching(t *testing.T) {
	h := newHarness(t, newFake(), 120, 24)
	tests := []struct {
		key  string
		want page
	}{
		{"tab", pageFleets}, {"tab", pageLogs}, {"shift+tab", pageFleets}, {"5", pageServer},
		{"tab", pageEvents}, {"tab", pageBackends}, {"tab", pageServices}, {"tab", pageRuns}, {"shift+tab", pageServices},
		{"shift+tab", pageBackends}, {"6", pageEvents}, {"7", pageBackends}, {"8", pageServices}, {"4", pageKeys}, {"1", pageRuns},
	}
	for _, tt := range tests {
		h.keys(tt.key)
		require.Equal(t, tt.want, h.m.active, "after %s", tt.key)
		require.Contains(t, h.m.View(), "["+fmt.Sprint(int(tt.want)+1)+" "+pageNames[tt.want]+"]")
	}
	h.keys("q")
	require.True(t, h.quit)
}

func TestHiddenPagesStopPolling(t *testing.T) {
	f := newFake()
	h := newHarness(t, f, 80, 24)
	h.keys("2")
	require.True(t, h.m.pages[pageFleets].(*fleetsPage).loaded)
	h.keys("1")
	h.tick() // the fleets tick is stale now: only the runs loop goes on
	require.Len(t, h.ticks, 1)
	require.Equal(t, "runs", h.ticks[0].(pollTick).owner)
}

func TestFilterRuns(t *testing.T) {
	h := newHarness(t, newFake(), 80, 24)
	h.keys("/", "s", "e", "r", "v", "e")
	require.True(t, h.m.pages[pageRuns].Capturing())
	h.keys("2") // typed into the filter, not a page switch
	require.Equal(t, pageRuns, h.m.active)
	h.keys("backspace", "enter")
	v := h.m.View()
	require.Contains(t, v, "serve-api")
	require.NotContains(t, v, "train-llama")
	h.keys("esc")
	require.Contains(t, h.m.View(), "train-llama")

	h.keys("/", "n", "o", "p", "e", "enter")
	require.Contains(t, h.m.View(), `No run matches "nope"`)
}

func TestToggleActive(t *testing.T) {
	h := newHarness(t, newFake(), 80, 24)
	require.Contains(t, h.m.View(), "old-batch")
	h.keys("a")
	v := h.m.View()
	require.Contains(t, v, "active runs")
	require.NotContains(t, v, "old-batch")
	require.Contains(t, v, "train-llama")
}

func TestStopAndAbortAskFirst(t *testing.T) {
	f := newFake()
	h := newHarness(t, f, 80, 24)
	h.keys("down", "s")
	require.Contains(t, h.m.View(), "Stop run train-llama? (y/n)")
	h.keys("n")
	require.Empty(t, f.stopped)
	require.Contains(t, h.m.View(), "cancelled")

	h.keys("s", "y")
	require.Equal(t, []string{"train-llama abort=false"}, f.stopped)
	require.Contains(t, h.m.View(), "stop requested for train-llama")

	h.keys("x")
	require.Contains(t, h.m.View(), "Abort run train-llama now")
	h.keys("q") // neither yes nor no: the question stays, nothing quits
	require.False(t, h.quit)
	h.keys("y")
	require.Equal(t, []string{"train-llama abort=false", "train-llama abort=true"}, f.stopped)

	h.keys("G", "s") // old-batch is done
	require.Contains(t, h.m.View(), "old-batch has already finished")
	require.Len(t, f.stopped, 2)
}

func TestJobsViewAndBack(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.keys("down", "enter")
	v := h.m.View()
	require.Contains(t, v, "Run train-llama")
	require.Contains(t, v, "train-llama-0-0")
	require.Contains(t, v, "remote remote 3.255.177.51")
	h.keys("l")
	require.Equal(t, pageLogs, h.m.active)
	require.Contains(t, h.m.View(), "step 60")
	h.keys("1", "esc")
	require.Contains(t, h.m.View(), "Runs · main")
}

func TestLogsFollowScrollAndJump(t *testing.T) {
	f := newFake()
	h := newHarness(t, f, 80, 24)
	h.keys("down", "l")
	require.Equal(t, pageLogs, h.m.active)
	require.Contains(t, h.m.View(), "step 60: ")
	require.Contains(t, h.m.View(), "following")

	f.addLogs("sub-train-llama", "step 61: loss=0.032")
	h.tick()
	require.Contains(t, h.m.View(), "step 61: ")
	last := f.polls[len(f.polls)-1]
	require.NotNil(t, last.StartTime, "follow-up polls start after the newest line")

	h.keys("pgup", "up")
	v := h.m.View()
	require.Contains(t, v, "paused")
	require.NotContains(t, v, "step 61: ")
	f.addLogs("sub-train-llama", "step 62: loss=0.031")
	h.tick()
	require.NotContains(t, h.m.View(), "step 62: ", "a paused reader stays in place")

	h.keys("end")
	v = h.m.View()
	require.Contains(t, v, "step 62: ")
	require.Contains(t, v, "following")
	h.keys("g")
	require.Contains(t, h.m.View(), "step 1: ")
}

func TestLogsPagesThroughNextToken(t *testing.T) {
	f := newFake()
	lines := make([]string, 2500)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %d", i)
	}
	f.addLogs("sub-vscode-dev", lines...)
	h := newHarness(t, f, 80, 24)
	h.keys("3")
	v := h.m.View()
	require.Contains(t, v, "line 2499")
	require.Contains(t, v, "of 2500")
	require.Len(t, f.polls, 3, "1000 + 1000 + 500, one after the other")
	require.NotNil(t, f.polls[1].NextToken)
}

func TestLogsSearch(t *testing.T) {
	h := newHarness(t, newFake(), 80, 24)
	h.keys("down", "3", "/", "L", "O", "S", "S", "=", "0", ".", "5", "enter")
	require.Contains(t, h.m.View(), `"loss=0.5" at line 4`)
	h.keys("n")
	require.Contains(t, h.m.View(), `"loss=0.5" at line 4`, "one match: n wraps to it")
	h.keys("/", "s", "t", "e", "p", " ", "5", "enter", "n")
	require.Contains(t, h.m.View(), `"step 5" at line 50`)
	h.keys("N")
	require.Contains(t, h.m.View(), `"step 5" at line 5`)
	h.keys("N")
	require.Contains(t, h.m.View(), `"step 5" at line 59`, "N wraps backwards")
	h.keys("esc")
	require.NotContains(t, h.m.View(), `"step 5"`)
}

func TestLostServerBannerAppearsAndClears(t *testing.T) {
	f := newFake()
	h := newHarness(t, f, 80, 24)
	require.NotContains(t, h.m.View(), "lost the server")
	f.down = true
	h.tick()
	h.tick()
	v := h.m.View()
	require.Contains(t, v, "lost the server, retrying with back-off (attempt 2)")
	require.Contains(t, v, "train-llama", "the last data stays on screen")
	require.Equal(t, 4*time.Millisecond, h.m.runs.poll.delay(), "back-off doubles per failure")
	f.down = false
	h.tick()
	require.NotContains(t, h.m.View(), "lost the server")
	require.Equal(t, time.Millisecond, h.m.runs.poll.delay())
}

func TestNotAvailableRoutes(t *testing.T) {
	f := newFake()
	for _, m := range []string{"ListFleets", "PollLogs", "EncryptionStatus"} {
		f.errs[m] = fmt.Errorf("%w (not found)", ErrNotAvailable)
	}
	h := newHarness(t, f, 80, 24)
	h.keys("2")
	require.Contains(t, h.m.View(), "Fleets are not available from this server yet")
	h.keys("3")
	require.Contains(t, h.m.View(), "Logs are not available from this server yet")
	h.keys("4")
	require.Contains(t, h.m.View(), "Encryption keys are not available")
	require.NotContains(t, h.m.View(), "lost the server")
}

func TestKeysForbidden(t *testing.T) {
	f := newFake()
	f.errs["EncryptionStatus"] = fmt.Errorf("%w (access denied)", ErrForbidden)
	h := newHarness(t, f, 80, 24)
	h.keys("4")
	require.Contains(t, h.m.View(), "admins only")
}

func TestHelpListsEveryBinding(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	for p := range pageCount {
		h.keys(fmt.Sprint(int(p)+1), "?")
		v := h.m.View()
		for _, group := range h.m.pages[p].FullHelp() {
			for _, b := range group {
				require.Contains(t, v, b.Help().Desc, "page %s", pageNames[p])
			}
		}
		for _, b := range h.m.c.Keys.global() {
			require.Contains(t, v, b.Help().Desc)
		}
		h.keys("x") // any key closes the help
		require.NotContains(t, h.m.View(), "any key closes")
	}
}

func TestResize(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	for _, size := range [][2]int{{60, 20}, {80, 24}, {200, 60}, {20, 5}} {
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for p := range pageCount {
			h.keys(fmt.Sprint(int(p) + 1))
			checkScreen(t, h.m.View(), size[0], size[1])
		}
	}
}

func TestUnknownProject(t *testing.T) {
	f := newFake()
	f.errs["ListRuns"] = fmt.Errorf("%w (%w)", ErrNotAvailable, errors.New("project not found: nope"))
	h := newHarness(t, f, 80, 24)
	require.Contains(t, h.m.View(), "Project not found: nope: it does not exist, or you are not a member.")
}
