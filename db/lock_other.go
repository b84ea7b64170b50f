//go:build !unix

package db

// lockFile is a no-op where flock is unavailable.
func lockFile(string) (func() error, error) { return func() error { return nil }, nil }
