// Package db owns the server's state: it opens SQLite or PostgreSQL through
// bun, applies the embedded migrations, defines the row models and the query
// functions over them, and turns driver errors into a few sentinels.
//
// Query functions take a bun.IDB so that they compose inside and outside
// RunInTx. Dialect differences live in the SQL migration files and in the
// small helpers of dialect.go, never in switches spread through callers.
package db
