// Package workbook writes a report's Excel workbook (.xlsx) from a metrics
// snapshot: a summary with the previous period and the alignment score, the
// 12-period trend with charts, the breakdowns by rep and campaign, the
// rejection reasons, the follow-up backlog, one row per MQL, data health and
// the definitions of every number, in English or Spanish.
//
// Every number comes from the snapshot as a value (no formulas), every piece
// of CRM text is stored as text, and the MQL detail is streamed so a period
// with a million MQLs is written in bounded memory.
package workbook

import (
	"archive/zip"
	"bufio"
	"cmp"
	"compress/flate"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/links"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/workhours"
)

// Audiences a workbook can be written for, as Options.Audience spells
// them: package report's.
const (
	AudienceLeadership = string(report.AudienceLeadership)
	AudienceSales      = string(report.AudienceSales)
	AudienceMarketing  = string(report.AudienceMarketing)
)

// Creator is the document's author as its properties name it.
const Creator = "sameteam"

// Options says how to write a workbook.
type Options struct {
	// Audience picks and orders the sheets: leadership (the default),
	// sales or marketing. Every audience gets Summary, Trend, MQL detail,
	// Data health and Definitions.
	Audience string
	// Locale is the language of sheet names, headers and words: "en" (the
	// default) or "es". Numbers and dates carry Excel number formats, so
	// separators follow the reader's own Excel settings.
	Locale string
	// Currency is the ISO 4217 code of every amount; EUR by default.
	Currency string
	// ReportName is the title on the Summary sheet and in the document
	// properties.
	ReportName string
	// GeneratedAt is the document's creation time; the snapshot's as_of
	// when zero, so the same input gives the same workbook.
	GeneratedAt time.Time
	// Calendar is the working calendar the SLA was counted in, for the
	// Definitions sheet (its hours and holidays); nil for wall-clock
	// hours. A snapshot that names a calendar (SLACalendar) but comes
	// without one gets its name only.
	Calendar *workhours.Calendar
	// TmpDir is where excelize may keep temporary files; the
	// system default when empty.
	TmpDir string
	// MaxRows is the number of rows a sheet may hold, header included;
	// Excel's 1,048,576 when 0. MQL detail rows past it continue on
	// "MQL detail (2)" and so on.
	MaxRows int

	// DetailRows, when set, supplies the MQL detail instead of
	// Snapshot.Detail, so a caller can stream a large period from its
	// source without holding every row. DetailCount must then say how many
	// rows it yields: sheets and their ranges are laid out before the first
	// row is written.
	DetailRows iter.Seq[metrics.MQLRow]
	// DetailCount is the number of rows DetailRows yields.
	DetailCount int
	// Links are the CRM's URL templates: lead ids and campaign names
	// become hyperlinks where set.
	Links links.Templates
}

// Write writes the workbook of s for opts to w. The file is streamed to w as
// it is built; on error w holds a partial file and must be discarded.
func Write(w io.Writer, s *metrics.Snapshot, opts Options) error {
	if s == nil {
		return ErrNoSnapshot
	}
	b, err := newBuilder(s, opts)
	if err != nil {
		return err
	}
	defer b.f.Close() // removes excelize's temporary files, if any
	if err := b.build(); err != nil {
		return err
	}
	level := flate.DefaultCompression
	if b.o.DetailCount > fastDeflateRows {
		level = flate.BestSpeed
	}
	return b.save(w, level)
}

// fastDeflateRows is the detail size above which the file is compressed
// with the fastest deflate level. Compressing the detail is most of the
// time of a large workbook; the fastest level takes about half of it for a
// file about a quarter larger. Small workbooks, the ones that are mailed,
// keep the default level.
const fastDeflateRows = 50000

// save writes f's zip straight to w. excelize's own Write assembles the
// whole file in a bytes.Buffer first (peak memory about three times the file
// size); handing it a ZipWriter over w keeps memory flat whatever the size.
// The buffer WriteToBuffer returns stays empty. excelize saves every part
// but the MQL detail's rows; those follow, encoded straight into the zip.
func (b *builder) save(w io.Writer, level int) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	zw := zip.NewWriter(bw)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return pooledDeflate(out, level)
	})
	pz := &packageZip{zw: zw, frames: map[string][]byte{}}
	for _, p := range b.parts {
		pz.frames[p.path] = nil
	}
	b.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return pz })
	if _, err := b.f.WriteToBuffer(); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	if err := b.writeDetail(zw, pz.frames); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

// deflaters keeps flate writers for reuse, one pool per level. A new
// flate writer allocates about a megabyte of tables, and a workbook has a
// dozen parts: a run that writes a workbook for each of a thousand people
// spent a third of its time making and collecting them.
var deflaters sync.Map // level → *sync.Pool of *flate.Writer

// pooledDeflate is a flate writer at level onto out, from the pool; it
// goes back to the pool when closed.
func pooledDeflate(out io.Writer, level int) (io.WriteCloser, error) {
	p, _ := deflaters.LoadOrStore(level, &sync.Pool{})
	pool := p.(*sync.Pool)
	if fw, ok := pool.Get().(*flate.Writer); ok {
		fw.Reset(out)
		return &pooledWriter{Writer: fw, pool: pool}, nil
	}
	fw, err := flate.NewWriter(out, level)
	if err != nil {
		return nil, err
	}
	return &pooledWriter{Writer: fw, pool: pool}, nil
}

// pooledWriter returns its flate writer to the pool on Close.
type pooledWriter struct {
	*flate.Writer
	pool *sync.Pool
}

func (w *pooledWriter) Close() error {
	err := w.Writer.Close()
	w.Writer.Reset(io.Discard) // let go of the zip's writer
	w.pool.Put(w.Writer)
	w.Writer = nil
	return err
}

// packageZip is the zip writer excelize saves through. It keeps back the
// MQL detail parts (a few kilobytes each: the frame around the header row)
// for writeDetail, and leaves the archive open for them when excelize
// closes it.
type packageZip struct {
	zw     *zip.Writer
	frames map[string][]byte // detail part path → its XML as excelize wrote it
}

func (p *packageZip) Create(name string) (io.Writer, error) {
	if _, ok := p.frames[name]; ok {
		return &frameWriter{p: p, name: name}, nil
	}
	return p.zw.Create(name)
}

func (p *packageZip) AddFS(fsys fs.FS) error { return p.zw.AddFS(fsys) }

// Close does not close the archive: the detail parts are still to come.
func (p *packageZip) Close() error { return nil }

// frameWriter collects a detail part's frame.
type frameWriter struct {
	p    *packageZip
	name string
}

func (f *frameWriter) Write(b []byte) (int, error) {
	f.p.frames[f.name] = append(f.p.frames[f.name], b...)
	return len(b), nil
}

// builder carries what every sheet writer needs.
type builder struct {
	f    *excelize.File
	s    *metrics.Snapshot
	o    Options
	w    *words
	st   styles
	loc  *time.Location
	rows int // MaxRows resolved

	parts        []detailPart // the MQL detail sheets, written at save time
	detailStyles []int        // the MQL detail's column styles
}

func newBuilder(s *metrics.Snapshot, o Options) (*builder, error) {
	o.Audience = cmp.Or(o.Audience, AudienceLeadership)
	o.Locale = cmp.Or(o.Locale, "en")
	o.Currency = cmp.Or(o.Currency, "EUR")
	if o.GeneratedAt.IsZero() {
		o.GeneratedAt = s.AsOf.Time()
	}
	switch o.Audience {
	case AudienceLeadership, AudienceSales, AudienceMarketing:
	default:
		return nil, fmt.Errorf("%w: %q", ErrAudience, o.Audience)
	}
	if !validCurrency(o.Currency) {
		return nil, fmt.Errorf("%w: %q", ErrCurrency, o.Currency)
	}
	rows := cmp.Or(o.MaxRows, excelize.TotalRows)
	if rows < 2 || rows > excelize.TotalRows {
		return nil, fmt.Errorf("%w: %d", ErrMaxRows, o.MaxRows)
	}
	w, err := vocabulary(o.Locale)
	if err != nil {
		return nil, err
	}
	if o.DetailRows == nil {
		o.DetailRows, o.DetailCount = slices.Values(s.Detail), len(s.Detail)
	}
	f := excelize.NewFile(excelize.Options{TmpDir: o.TmpDir})
	st, err := newStyles(f, w, o.Locale, o.Currency)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &builder{f: f, s: s, o: o, w: w, st: st, loc: reportZone(s), rows: rows}, nil
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range 3 {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// reportZone is the zone every date of the workbook is shown in.
func reportZone(s *metrics.Snapshot) *time.Location {
	if !s.Span.Start.IsZero() {
		return s.Span.Location()
	}
	if loc, err := time.LoadLocation(s.Period.TimeZone); err == nil && s.Period.TimeZone != "" {
		return loc
	}
	return time.UTC
}

// sheet kinds, in the order a leadership workbook shows them.
type sheetKind int

const (
	kindSummary sheetKind = iota
	kindTrend
	kindReps
	kindCampaigns
	kindRejections
	kindBacklog
	kindDetail
	kindHealth
	kindDefinitions
)

// plan is the sheet order for an audience: each team sees what it acts on
// right after the summary.
func plan(audience string) []sheetKind {
	switch audience {
	case AudienceSales:
		return []sheetKind{kindSummary, kindBacklog, kindReps, kindRejections, kindTrend, kindDetail, kindHealth, kindDefinitions}
	case AudienceMarketing:
		return []sheetKind{kindSummary, kindCampaigns, kindTrend, kindRejections, kindDetail, kindHealth, kindDefinitions}
	}
	return []sheetKind{kindSummary, kindTrend, kindReps, kindCampaigns, kindRejections, kindBacklog, kindDetail, kindHealth, kindDefinitions}
}

func (b *builder) sheetName(k sheetKind) string {
	w := b.w
	return [...]string{
		kindSummary: w.sheetSummary, kindTrend: w.sheetTrend, kindReps: w.sheetReps,
		kindCampaigns: w.sheetCampaigns, kindRejections: w.sheetRejections,
		kindBacklog: w.sheetBacklog, kindDetail: w.sheetDetail, kindHealth: w.sheetHealth,
		kindDefinitions: w.sheetDefinitions,
	}[k]
}

// detailSheets names the sheets the MQL detail needs under the row limit.
func (b *builder) detailSheets() []string {
	per := b.rows - 1 // the header takes one row on each sheet
	n := max(1, (b.o.DetailCount+per-1)/per)
	names := []string{b.w.sheetDetail}
	for i := 2; i <= n; i++ {
		names = append(names, fmt.Sprintf("%s (%d)", b.w.sheetDetail, i))
	}
	return names
}

func (b *builder) build() error {
	kinds := plan(b.o.Audience)
	// Create every sheet first, in order, so the tabs read left to right as
	// planned whatever order they are filled in.
	var names []string
	for _, k := range kinds {
		if k == kindDetail {
			names = append(names, b.detailSheets()...)
			continue
		}
		names = append(names, b.sheetName(k))
	}
	if err := b.f.SetSheetName("Sheet1", names[0]); err != nil {
		return fmt.Errorf("name sheet: %w", err)
	}
	for _, n := range names[1:] {
		if _, err := b.f.NewSheet(n); err != nil {
			return fmt.Errorf("add sheet %q: %w", n, err)
		}
	}
	// Summary is first for every audience. SetActiveSheet reads every
	// worksheet, so it must run before the detail is streamed: reading a
	// streamed sheet back parses all of its rows into memory.
	b.f.SetActiveSheet(0)
	// The detail goes last for the same reason: after a stream is flushed,
	// nothing may touch every sheet.
	for _, k := range append(slices.DeleteFunc(slices.Clone(kinds), func(k sheetKind) bool { return k == kindDetail }), kindDetail) {
		var err error
		switch k {
		case kindSummary:
			err = b.summary()
		case kindTrend:
			err = b.trend()
		case kindReps:
			err = b.reps()
		case kindCampaigns:
			err = b.campaigns()
		case kindRejections:
			err = b.rejections()
		case kindBacklog:
			err = b.backlog()
		case kindDetail:
			err = b.detail(b.detailSheets())
		case kindHealth:
			err = b.health()
		case kindDefinitions:
			err = b.definitions()
		}
		if err != nil {
			return fmt.Errorf("sheet %q: %w", b.sheetName(k), err)
		}
	}
	return b.properties()
}

func (b *builder) properties() error {
	title := b.o.ReportName
	if title == "" {
		title = fmt.Sprintf("sameteam · %s · %s", b.w.audience[b.o.Audience], b.s.Period.Label)
	}
	created := b.o.GeneratedAt.UTC().Format(time.RFC3339)
	err := b.f.SetDocProps(&excelize.DocProperties{
		Title:          b.text(title),
		Subject:        b.text(fmt.Sprintf(b.w.subject, b.s.Period.Label)),
		Creator:        Creator,
		LastModifiedBy: Creator,
		Created:        created,
		Modified:       created,
		Language:       b.o.Locale,
		Keywords:       b.o.Audience,
	})
	if err != nil {
		return fmt.Errorf("set document properties: %w", err)
	}
	return nil
}

// working reports whether the SLA counts working hours: the columns and
// rows of working time appear only then, rather than empty in every
// workbook of a wall-clock report.
func (b *builder) working() bool { return b.s.SLACalendar != nil }

// text cleans CRM text for a cell.
func (b *builder) text(s string) string { return clean(s, b.w.truncated) }

// when is t as an Excel date in the report's zone; nil (an empty cell) when
// t is zero.
func (b *builder) when(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(b.loc)
}
