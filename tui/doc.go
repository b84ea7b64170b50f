// Package tui is `dstack console`: a full-screen, keyboard-first dashboard of
// a project's runs, fleets and logs, the encryption keys and the server's
// health. It talks to the server only through the HTTP API (the Backend
// interface), so the same root model runs in a local terminal and, one
// program per session, behind the console's SSH server.
//
// Shape (after soft-serve's pkg/ui): a Common value — size, styles, keys,
// logger, Backend, clock — is handed to each page; pages implement Component;
// the root Model switches pages by a page enum, draws the header, tabs, the
// lost-server banner and the help, and forwards messages. All I/O runs in
// tea.Cmds with timeouts and comes back as typed messages, so the UI never
// waits on the network.
package tui
