package db

import (
	"database/sql"
	"errors"
	"strings"

	"modernc.org/sqlite"
)

// Sentinel errors: driver errors of both dialects are mapped to these at the
// db boundary so that services can use errors.Is.
var (
	// ErrNotFound means the row does not exist (or is soft-deleted).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique constraint refused the write.
	ErrConflict = errors.New("already exists")
	// ErrLocked means another process holds the database.
	ErrLocked = errors.New("database is locked")
)

// sqlite extended result codes for constraint violations.
const (
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// mapErr converts driver errors to the sentinels, leaving others as they are.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqliteConstraintPrimaryKey, sqliteConstraintUnique:
			return errors.Join(ErrConflict, err)
		}
	}
	if pgconnErr(err, "23505") {
		return errors.Join(ErrConflict, err)
	}
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return errors.Join(ErrConflict, err)
	}
	return err
}
