package runner

import (
	"math"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// upgrader accepts clients that send no Origin (the server's own client)
// and same-origin ones (gorilla's default check): a web page of another
// origin must not read the job's logs through a browser that reaches the
// runner.
var upgrader = websocket.Upgrader{}

// handleLogsWS streams the job's raw output as binary WebSocket messages,
// starting at ?start_time=<RFC 3339> (or the beginning), until the job has
// finished and everything was sent; then it closes the stream normally.
func (s *Server) handleLogsWS(w http.ResponseWriter, r *http.Request) {
	var after int64
	var parseErr error
	if v := r.URL.Query().Get("start_time"); v != "" {
		var t time.Time
		if t, parseErr = time.Parse(time.RFC3339, v); parseErr == nil {
			after = t.UnixMilli() - 1
		}
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	if parseErr != nil {
		msg := websocket.FormatCloseMessage(websocket.CloseUnsupportedData, "failed to parse start_time value")
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	s.wsActive.Add(1)
	go func() {
		defer s.wsActive.Add(-1)
		defer conn.Close()
		s.streamLogs(conn, after)
	}()
}

func (s *Server) streamLogs(conn *websocket.Conn, after int64) {
	gone := make(chan struct{})
	go func() { // reads detect the client going away
		defer close(gone)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for {
		changed := s.jobLogs.Changed()
		finished := isClosed(s.finished)
		events := s.jobLogs.Between(after, math.MaxInt64)
		for _, e := range events {
			_ = conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if err := conn.WriteMessage(websocket.BinaryMessage, e.Message); err != nil {
				return
			}
			after = e.Timestamp
		}
		if finished && len(events) == 0 {
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			return
		}
		select {
		case <-changed:
		case <-s.finished:
		case <-gone:
			return
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
