package mototest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Fault is an error the proxy answers instead of moto, for requests that
// match: the API action ("RunInstances", "GetCallerIdentity"), optionally
// a form parameter value (Param "InstanceType", Value "g5.xlarge") and an
// access key. Times limits how often it fires (0: always).
type Fault struct {
	Action    string
	Param     string
	Value     string
	AccessKey string
	// Code and Message are AWS's error code and message; Status is the HTTP
	// status (400 when 0).
	Code    string
	Message string
	Status  int
	Times   int
}

// Proxy forwards AWS API requests to moto, answering some with faults.
type Proxy struct {
	URL string

	mu     sync.Mutex
	faults []*Fault
	fired  map[string]int
	// Seen counts requests by action.
	seen map[string]int
	// held are the actions whose answers wait for a release (Hold).
	held map[string]chan struct{}
	// reservations are the capacity reservations the proxy emulates.
	reservations []CapacityReservation
	// forms are the last request form of each action.
	forms map[string]url.Values
	// groups are the placement groups the proxy emulates: strategy by
	// region and name.
	groups map[[2]string]string
}

// NewProxy starts a proxy in front of the moto at target (stopped at
// cleanup); host is the address it listens on ("127.0.0.1" when empty).
func NewProxy(t testing.TB, target, host string) *Proxy {
	t.Helper()
	if host == "" {
		host = "127.0.0.1"
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("mototest: %v", err)
	}
	p := &Proxy{fired: map[string]int{}, seen: map[string]int{}, forms: map[string]url.Values{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("mototest: listen: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if f := p.match(r, form); f != nil {
			writeFault(w, form.Get("Action"), f)
			return
		}
		if form.Get("Action") == "DescribeCapacityReservations" {
			p.describeReservations(w, r, form)
			return
		}
		if p.placementGroup(w, r, form) {
			return
		}
		if release := p.holding(form.Get("Action")); release != nil {
			// moto acts on the request at once; its answer waits, as a
			// cloud's answer that a crashing client never reads.
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.URL = "http://" + ln.Addr().String()
	return p
}

// Fail adds a fault.
func (p *Proxy) Fail(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &f)
}

// Hold makes the proxy forward requests of action to moto but keep their
// answers until the returned release is called (a client that dies
// meanwhile never gets one).
func (p *Proxy) Hold(action string) (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	p.held[action] = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.held[action] == ch {
				delete(p.held, action)
			}
			close(ch)
		})
	}
}

func (p *Proxy) holding(action string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[action]
}

// Clear removes every fault.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

// Seen is how many requests of an action went through (faulted or not).
func (p *Proxy) Seen(action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[action]
}

// Fired is how many times faults with this code answered.
func (p *Proxy) Fired(code string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fired[code]
}

func (p *Proxy) match(r *http.Request, form url.Values) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	action := form.Get("Action")
	p.seen[action]++
	p.forms[action] = form
	key := accessKey(r.Header.Get("Authorization"))
	for _, f := range p.faults {
		switch {
		case f.Times < 0: // spent
		case f.Action != "" && f.Action != action:
		case f.Param != "" && form.Get(f.Param) != f.Value:
		case f.AccessKey != "" && f.AccessKey != key:
		default:
			if f.Times > 0 {
				if f.Times--; f.Times == 0 {
					f.Times = -1
				}
			}
			p.fired[f.Code]++
			return f
		}
	}
	return nil
}

// accessKey is the key id of a SigV4 Authorization header.
func accessKey(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(rest, "/")
	return key
}

// writeFault answers in the AWS query protocol's error shapes: EC2's
// <Response><Errors>, the others' <ErrorResponse>.
func writeFault(w http.ResponseWriter, action string, f *Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	if action == "GetCallerIdentity" || action == "GetInstanceProfile" {
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>mototest</RequestId></ErrorResponse>`,
			f.Code, xmlEscape(f.Message))
		return
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>mototest</RequestID></Response>`,
		f.Code, xmlEscape(f.Message))
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
