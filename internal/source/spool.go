package source

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sameteam/sameteam/internal/metrics"
)

// spool is one read of a kept snapshot's MQLs, as the source returned
// them, in a temporary file: the reports that share a snapshot write its
// MQL detail several times (one workbook per audience and locale), and
// replaying the file costs a fraction of asking the database again (the
// query's probes of the activity index, the text protocol's timestamps).
// It holds the rows before the metrics derive anything from them, so every
// reader of the snapshot gets exactly what the database would have
// returned, whatever its SLA or calendar.
//
// One goroutine reads the database into the file at its own pace; every
// reader, the first included, follows the file as it grows. No reader
// waits for another, so several can iterate at once, even in one
// goroutine. The file is unlinked as soon as it is created: nothing is
// left behind, even by a crash, and its space goes with the last reader.
type spool struct {
	rng  metrics.Range
	f    *os.File
	locs []*time.Location // the locations of the times read, by index in the file; written before the bytes that use them
	bad  bool             // more locations than an index holds: the read fails over to the database

	mu      sync.Mutex
	size    int64         // bytes of whole records written
	done    bool          // the read is over; err says how
	err     error         // the database read's error
	changed chan struct{} // closed and replaced when size or done change
}

// noTime marks a zero time in the file.
const noTime = 0xff

// read is a metrics.MQLReader over the kept snapshot: the first read of a
// range starts a spool of it, and every read follows that spool. A spool
// whose read failed is dropped, so the next read asks the database again;
// where no temporary file can be made, each read asks the database.
func (k *kept) read(ctx context.Context, rng metrics.Range, yield func(metrics.Lead, []metrics.Touch) bool) error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return errReleased
	}
	chain := k.covering(rng)
	if chain == nil {
		if sp := k.startSpool(ctx, rng); sp != nil {
			chain = []*spool{sp}
		}
	}
	k.mu.Unlock()
	if chain == nil {
		return k.readDB(ctx, rng, yield)
	}
	stopped := false
	for _, sp := range chain {
		err := sp.replay(ctx, func(l metrics.Lead, touches []metrics.Touch) bool {
			stopped = !yield(l, touches)
			return !stopped
		})
		if err != nil || stopped {
			return err
		}
	}
	return nil
}

// covering returns spools whose ranges follow one another from rng's
// start to its end, in that order: the facts' read spools the period in
// parts. nil when there are none such. k.mu is held.
func (k *kept) covering(rng metrics.Range) []*spool {
	var chain []*spool
	for at := rng.From; at.Before(rng.To); {
		var next *spool
		for _, s := range k.spools {
			if s.rng.From.Equal(at) && s.rng.To.After(at) && !s.rng.To.After(rng.To) {
				next = s
				break
			}
		}
		if next == nil {
			return nil
		}
		chain = append(chain, next)
		at = next.rng.To
	}
	return chain
}

// startSpool starts reading rng into a new spool; nil when no temporary
// file can be made. k.mu is held.
func (k *kept) startSpool(ctx context.Context, rng metrics.Range) *spool {
	sp := newSpool(rng)
	if sp == nil {
		return nil
	}
	k.spools = append(k.spools, sp)
	// The read serves every report of the snapshot, not only the one that
	// started it: it ends with the snapshot (release), not with ctx.
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	k.cancels = append(k.cancels, cancel)
	go k.fill(pctx, sp)
	return sp
}

// newSpool is an empty spool of rng in a new temporary file, unlinked at
// once; nil when no such file can be made.
func newSpool(rng metrics.Range) *spool {
	f, err := os.CreateTemp("", "sameteam-detail-*")
	if err != nil {
		return nil
	}
	if os.Remove(f.Name()) != nil { // an open file cannot be unlinked here: do without
		f.Close()
		os.Remove(f.Name())
		return nil
	}
	return &spool{rng: rng, f: f, changed: make(chan struct{})}
}

// fill reads sp's range from the database into its file.
func (k *kept) fill(ctx context.Context, sp *spool) {
	w := &spoolWriter{sp: sp}
	err := w.finish(k.readDB(ctx, sp.rng, w.add))
	if err != nil {
		k.mu.Lock()
		for i, s := range k.spools {
			if s == sp {
				k.spools = append(k.spools[:i], k.spools[i+1:]...)
				break
			}
		}
		k.mu.Unlock()
	}
	sp.end(err)
}

// spoolWriter appends leads to a spool's file in blocks, each made
// visible to the spool's followers once written whole.
type spoolWriter struct {
	sp  *spool
	buf []byte
	err error // the first write's error: nothing more is written
}

// add appends a lead's record; false once the spool cannot take more.
func (w *spoolWriter) add(l metrics.Lead, touches []metrics.Touch) bool {
	if w.err != nil {
		return false
	}
	w.buf = w.sp.appendLead(w.buf, l, touches)
	if w.sp.bad {
		w.err = errors.New("too many time zones in the rows to spool them")
		return false
	}
	if len(w.buf) >= 64<<10 {
		w.commit()
	}
	return w.err == nil
}

// commit writes the records buffered so far.
func (w *spoolWriter) commit() {
	if len(w.buf) == 0 || w.err != nil {
		return
	}
	sp := w.sp
	if _, w.err = sp.f.Write(w.buf); w.err == nil {
		sp.mu.Lock()
		sp.size += int64(len(w.buf))
		close(sp.changed)
		sp.changed = make(chan struct{})
		sp.mu.Unlock()
	}
	w.buf = w.buf[:0]
}

// finish writes the rest after a read that ended with err, and returns
// how the spool ends: err, or the writer's own failure.
func (w *spoolWriter) finish(err error) error {
	w.commit()
	if err == nil && w.err != nil {
		err = fmt.Errorf("read the MQL detail: spool it: %w", w.err)
	}
	return err
}

// discard lets go of spools nobody follows.
func discard(tees []*spoolWriter) {
	for _, w := range tees {
		w.sp.f.Close()
	}
}

// adopt makes the spools filled by the facts' own read of the period (see
// teeFor) the detail's, once the facts are read. If one could not be
// written whole, all are dropped, and the detail's first read asks the
// database.
func (k *kept) adopt(tees []*spoolWriter) {
	for _, w := range tees {
		if err := w.finish(nil); err != nil {
			discard(tees)
			return
		}
	}
	for _, w := range tees {
		w.sp.end(nil)
		k.spools = append(k.spools, w.sp)
	}
}

// end marks the spool's read over, with err.
func (sp *spool) end(err error) {
	sp.mu.Lock()
	sp.done, sp.err = true, err
	close(sp.changed)
	sp.mu.Unlock()
}

// ReadAt reads the file's whole records, waiting for them while the read
// goes on; it returns io.EOF at the end of a complete read, and the read's
// error at the end of a failed one.
func (sp *spool) readAt(ctx context.Context, p []byte, off int64) (int, error) {
	for {
		sp.mu.Lock()
		size, done, err, changed := sp.size, sp.done, sp.err, sp.changed
		sp.mu.Unlock()
		if off < size {
			return sp.f.ReadAt(p[:min(int64(len(p)), size-off)], off)
		}
		if done {
			if err == nil {
				err = io.EOF
			}
			return 0, err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, fmt.Errorf("read the MQL detail: %w", ctx.Err())
		}
	}
}

// follower reads a spool from the start as it grows.
type follower struct {
	ctx context.Context
	sp  *spool
	off int64
}

func (r *follower) Read(p []byte) (int, error) {
	n, err := r.sp.readAt(r.ctx, p, r.off)
	r.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}

// readDB reads rng from the database on the kept snapshot.
func (k *kept) readDB(ctx context.Context, rng metrics.Range, yield func(metrics.Lead, []metrics.Touch) bool) error {
	ctx, cancel := context.WithTimeout(ctx, k.s.opts.QueryTimeout)
	defer cancel()
	r, done, err := k.reader(ctx)
	if err != nil {
		return err
	}
	defer done()
	r.eachMQL(k.asOf, rng, yield)
	if r.err != nil {
		return fmt.Errorf("read the MQL detail: %w", r.err)
	}
	return nil
}

// leadFields are the fields of l that a spool keeps, in the order of its
// records: the one list both directions read, so a field added to
// metrics.Lead is added here once (TestSpoolKeepsEveryFieldOfALead fails
// until it is).
func leadFields(l *metrics.Lead) ([7]*string, [5]*time.Time) {
	return [...]*string{&l.ID, &l.Source, &l.CampaignID, &l.OwnerID, &l.RejectionReason, &l.Name, &l.Company},
		[...]*time.Time{&l.CreatedAt, &l.MQLAt, &l.AcceptedAt, &l.RejectedAt, &l.SQLAt}
}

// appendLead appends the record of a lead and its touches to b: its
// strings and times, the number of touches, then theirs.
func (sp *spool) appendLead(b []byte, l metrics.Lead, touches []metrics.Touch) []byte {
	strs, times := leadFields(&l)
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	for _, t := range times {
		b = sp.appendTime(b, *t)
	}
	b = binary.AppendUvarint(b, uint64(len(touches)))
	for _, t := range touches {
		b = binary.AppendUvarint(b, uint64(len(t.Ref)))
		b = append(b, t.Ref...)
		b = binary.AppendUvarint(b, uint64(len(t.Team)))
		b = append(b, t.Team...)
		b = sp.appendTime(b, t.At)
	}
	return b
}

// appendTime appends t as its location's index and its Unix nanoseconds,
// so that a replayed time is the one read, location and all.
func (sp *spool) appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, noTime)
	}
	i := 0
	for i < len(sp.locs) && sp.locs[i] != t.Location() {
		i++
	}
	if i == len(sp.locs) {
		sp.locs = append(sp.locs, t.Location())
	}
	if i >= noTime { // a location per row: do without the spool
		sp.bad = true
		return b
	}
	b = append(b, byte(i))
	return binary.AppendVarint(b, t.UnixNano())
}

// errSpool is a spool file that does not read back as it was written.
var errSpool = errors.New("source: the spooled MQL detail is damaged")

// replay yields the spooled leads in the order they were read.
func (sp *spool) replay(ctx context.Context, yield func(metrics.Lead, []metrics.Touch) bool) error {
	r := bufio.NewReaderSize(&follower{ctx: ctx, sp: sp}, 64<<10)
	var touches []metrics.Touch
	var buf []byte
	str := func() (string, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return "", err
		}
		if n == 0 {
			return "", nil
		}
		if uint64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	tm := func() (time.Time, error) {
		i, err := r.ReadByte()
		if err != nil || i == noTime {
			return time.Time{}, err
		}
		ns, err := binary.ReadVarint(r)
		if err != nil {
			return time.Time{}, err
		}
		if int(i) >= len(sp.locs) {
			return time.Time{}, errSpool
		}
		return time.Unix(0, ns).In(sp.locs[i]), nil
	}
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return fmt.Errorf("read the MQL detail: %w", ctx.Err())
		}
		if _, err := r.Peek(1); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		var l metrics.Lead
		var err error
		strs, times := leadFields(&l)
		for _, s := range strs {
			if err == nil {
				*s, err = str()
			}
		}
		for _, t := range times {
			if err == nil {
				*t, err = tm()
			}
		}
		var nt uint64
		if err == nil {
			nt, err = binary.ReadUvarint(r)
		}
		touches = touches[:0]
		for i := uint64(0); err == nil && i < nt; i++ {
			var t metrics.Touch
			if t.Ref, err = str(); err == nil {
				if t.Team, err = str(); err == nil {
					t.At, err = tm()
				}
			}
			touches = append(touches, t)
		}
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = errSpool
			}
			return err
		}
		if !yield(l, touches) {
			return nil
		}
	}
}
