// Package sshconsole serves `dstack console` over SSH: each session runs the
// console's root model (package tui) with an HTTP backend holding the
// token of the user whose registered public key opened it, so a session
// sees exactly what that user may see through the API. Sessions need a PTY.
//
//	ssh -p 3022 host              project "main" (else the user's first)
//	ssh -p 3022 PROJECT@host      that project, when the user is a member
//	ssh -p 3022 -t host PROJECT   that project
//
// The server owner supplies Config.Authenticate (registered keys → user and
// token) and the listen address; the host key is generated once and kept.
// Keys no user registered are refused during authentication: the refusal is
// logged with the key's fingerprint, and clients that speak
// keyboard-interactive (OpenSSH) are told why.
package sshconsole
