package replica

import (
	"context"
	"fmt"
	"time"

	"github.com/benbjohnson/litestream"
)

// Start replicates the database continuously until Close.
func (r *Replica) Start(ctx context.Context) error {
	db := litestream.NewDB(r.opts.Path)
	db.SetLogger(r.opts.Logger)
	rep := litestream.NewReplicaWithClient(db, r.client)
	rep.SyncInterval = r.opts.SyncInterval
	db.Replica = rep
	store := litestream.NewStore([]*litestream.DB{db}, litestream.DefaultCompactionLevels)
	if err := store.Open(ctx); err != nil {
		return fmt.Errorf("start replicating to %s: %w", r.display, err)
	}
	r.db, r.store = db, store
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go r.watch()
	r.opts.Logger.Info("replicating the database", "replica", r.display, "every", r.opts.SyncInterval)
	return nil
}

// watch samples the replication state each second.
func (r *Replica) watch() {
	defer close(r.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		r.sample(time.Now())
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
	}
}

// sample compares the local and replicated positions; the lag is how long
// the replica has been behind.
func (r *Replica) sample(now time.Time) {
	pos, err := r.db.Pos()
	remote := r.db.Replica.Pos()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.status.Error = err.Error()
		return
	}
	r.status.Error = ""
	r.status.LocalTXID, r.status.ReplicaTXID = uint64(pos.TXID), uint64(remote.TXID)
	if remote.TXID >= pos.TXID {
		r.behind = time.Time{}
		r.status.LagSeconds = 0
		return
	}
	if r.behind.IsZero() {
		r.behind = now
	}
	r.status.LagSeconds = now.Sub(r.behind).Seconds()
}

// Status returns the replication state.
func (r *Replica) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Close ships the last changes and stops replicating; call it after the
// database is closed.
func (r *Replica) Close(ctx context.Context) error {
	if r.store == nil {
		return nil
	}
	close(r.stop)
	<-r.done
	err := r.store.Close(ctx)
	r.store, r.db = nil, nil
	if err != nil {
		return fmt.Errorf("stop replicating to %s: %w", r.display, err)
	}
	return nil
}
