package db

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgconnConfig parses a postgres:// DSN for the pgx driver.
func pgconnConfig(dsn string, timeout time.Duration) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres URL: %w", err)
	}
	cfg.ConnectTimeout = timeout
	return cfg, nil
}
