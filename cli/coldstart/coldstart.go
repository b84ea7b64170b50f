// Package coldstart holds the garbage collector off while the binary's
// packages initialise. The one binary links the server, the console, the
// cloud SDKs and the agents; their package initialisers allocate a few
// megabytes, enough to start a collection cycle that the short-lived client
// verbs (dstack ps, dstack logs) would pay for on every start. The package
// has no imports of its own beyond runtime/debug, so it is initialised among
// the first packages; main gives the collector back with Done.
package coldstart

import (
	"runtime/debug"
	"sync"
)

// percent is the GOGC setting in force before the pause: the environment's
// GOGC, or 100.
var percent = debug.SetGCPercent(-1)

var once sync.Once

// Done ends the pause and restores the collector to GOGC (or to at least
// atLeast percent, for one-shot commands that may trade memory for speed;
// 0 keeps GOGC as it was). It is safe to call more than once: the first call
// decides.
func Done(atLeast int) {
	once.Do(func() {
		p := percent
		if p >= 0 && atLeast > p {
			p = atLeast
		}
		debug.SetGCPercent(p)
	})
}
