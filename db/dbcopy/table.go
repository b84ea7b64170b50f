package dbcopy

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dstackgo/dstack/db"
)

// column is a target column with its PostgreSQL type.
type column struct {
	Name string `bun:"column_name"`
	Type string `bun:"data_type"`
}

func targetColumns(ctx context.Context, dst *db.DB, table string) ([]column, error) {
	var cols []column
	err := dst.NewSelect().TableExpr("information_schema.columns").Column("column_name", "data_type").
		Where("table_schema = current_schema()").Where("table_name = ?", table).OrderExpr("ordinal_position").
		Scan(ctx, &cols)
	if err != nil {
		return nil, fmt.Errorf("read the target's columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("the target has no table %s after the migrations", table)
	}
	return cols, nil
}

func columnList(cols []column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = `"` + c.Name + `"`
	}
	return strings.Join(names, ", ")
}

// copyTable copies a table in batches, in rowid order.
func copyTable(ctx context.Context, src, dst *db.DB, table string, cols []column, opts Options) (int64, error) {
	var total int64
	if err := src.NewRaw("SELECT COUNT(*) FROM "+quote(table)).Scan(ctx, &total); err != nil {
		return 0, err
	}
	opts.Progress(Event{Table: table, Total: total})
	sel := "SELECT rowid, " + columnList(cols) + " FROM " + quote(table) + " WHERE rowid > ? ORDER BY rowid LIMIT ?"
	ins := "INSERT INTO " + quote(table) + " (" + columnList(cols) + ") VALUES "
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var last, done int64
	for {
		rows, err := src.QueryContext(ctx, sel, last, opts.Batch)
		if err != nil {
			return done, err
		}
		var args []any
		n := 0
		for rows.Next() {
			vals := make([]any, len(cols)+1)
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return done, err
			}
			last = vals[0].(int64)
			for i, c := range cols {
				v, err := convert(c.Type, vals[i+1])
				if err != nil {
					rows.Close()
					return done, fmt.Errorf("row %d, column %s: %w", last, c.Name, err)
				}
				args = append(args, v)
			}
			n++
		}
		if err := rows.Close(); err != nil {
			return done, err
		}
		if n == 0 {
			return done, nil
		}
		q := ins + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
		if _, err := dst.ExecContext(ctx, q, args...); err != nil {
			return done, err
		}
		done += int64(n)
		opts.Progress(Event{Table: table, Done: done, Total: total})
	}
}

// verify compares row counts and an order-independent checksum (the sum
// and the XOR of each row's SHA-256) of both sides.
func verify(ctx context.Context, src, dst *db.DB, table string, cols []column) (*TableReport, error) {
	sn, ssum, err := checksum(ctx, src, table, cols)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	dn, dsum, err := checksum(ctx, dst, table, cols)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if sn != dn {
		return nil, fmt.Errorf("the source has %d rows, the target %d", sn, dn)
	}
	if ssum != dsum {
		return nil, fmt.Errorf("checksums differ: source %s, target %s", ssum, dsum)
	}
	return &TableReport{Table: table, Rows: sn, Checksum: ssum}, nil
}

func checksum(ctx context.Context, d *db.DB, table string, cols []column) (int64, string, error) {
	rows, err := d.QueryContext(ctx, "SELECT "+columnList(cols)+" FROM "+quote(table))
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	var n int64
	var sum, xor [4]uint64
	vals := make([]any, len(cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	h := sha256.New()
	var buf []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, "", err
		}
		h.Reset()
		for i, c := range cols {
			v, err := convert(c.Type, vals[i])
			if err != nil {
				return 0, "", fmt.Errorf("column %s: %w", c.Name, err)
			}
			buf = canonical(buf[:0], v)
			h.Write(buf)
		}
		var d [sha256.Size]byte
		h.Sum(d[:0])
		for i := range sum {
			w := binary.BigEndian.Uint64(d[i*8:])
			sum[i] += w
			xor[i] ^= w
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	out := make([]byte, 0, 64)
	for i := range sum {
		out = binary.BigEndian.AppendUint64(out, sum[i]^(xor[i]<<1|xor[i]>>63))
	}
	return n, hex.EncodeToString(out[:16]), nil
}

// canonical appends a typed value in one byte form for both databases.
func canonical(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 0)
	case bool:
		if x {
			return append(b, 1, 't')
		}
		return append(b, 1, 'f')
	case int64:
		return strconv.AppendInt(append(b, 2), x, 10)
	case float64:
		return strconv.AppendFloat(append(b, 3), x, 'g', -1, 64)
	case time.Time:
		return x.UTC().AppendFormat(append(b, 4), time.RFC3339Nano)
	case string:
		b = binary.AppendUvarint(append(b, 5), uint64(len(x)))
		return append(b, x...)
	case []byte:
		b = binary.AppendUvarint(append(b, 6), uint64(len(x)))
		return append(b, x...)
	}
	return fmt.Appendf(append(b, 7), "%v", v)
}

func quote(name string) string { return `"` + name + `"` }
