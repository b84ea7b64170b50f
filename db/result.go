package db

import "database/sql"

// expectRow turns "no row changed" into ErrNotFound.
func expectRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
