package adminsql

import (
	"strconv"
	"strings"

	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/rplfilter"
)

// Parse parses q if it is one of the administrative statements of this package.
//
//   - (nil, nil): q is not one of them (its first words say so); it belongs to GMS.
//   - (st, nil): q is the statement st.
//   - (st, err): q begins as the statement of st's type but is malformed or has a bad value;
//     err is the MySQL error for the client (ER_PARSE_ERROR and others, *mysql.SQLError). st
//     holds what was read before the error: its type says which statement q was meant to be.
//
// SET GLOBAL gtid_purged is claimed only when it parses whole: other forms of SET, such as one
// setting several variables, stay with GMS.
func Parse(q string) (Statement, error) {
	p := &parser{lx: lexer{q: q}}
	p.advance()
	if p.tok.kind != tWord {
		return nil, nil
	}
	// Every statement the node receives passes here: compare the first word without
	// allocating (no upper-casing).
	switch w := p.tok.text; {
	case strings.EqualFold(w, "SHOW"):
		p.advance()
		return p.show()
	case strings.EqualFold(w, "CHANGE"):
		p.advance()
		return p.change()
	case strings.EqualFold(w, "START"), strings.EqualFold(w, "STOP"):
		stop := p.isWord("STOP")
		p.advance()
		if !p.accept("REPLICA") && !p.accept("SLAVE") {
			return nil, nil
		}
		return p.startStop(stop)
	case strings.EqualFold(w, "RESET"):
		p.advance()
		return p.reset()
	case strings.EqualFold(w, "FLUSH"):
		p.advance()
		return p.flush()
	case strings.EqualFold(w, "PURGE"):
		p.advance()
		if !p.accept("BINARY") && !p.accept("MASTER") {
			return nil, nil
		}
		return p.purge()
	case strings.EqualFold(w, "SWITCHOVER"):
		p.advance()
		return p.switchover()
	case strings.EqualFold(w, "SET"):
		p.advance()
		return p.setPurged()
	case strings.EqualFold(w, "CLONE"):
		p.advance()
		return p.clone()
	}
	return nil, nil
}

// CommitsImplicitly reports whether q is a statement that commits the session's transaction
// before it runs in MySQL and that GMS never analyzes as such: FLUSH (any form: GMS builds
// FLUSH TABLES as a no-op) and the replication statements CHANGE REPLICATION SOURCE / CHANGE
// MASTER, START / STOP / RESET REPLICA (SLAVE), RESET MASTER / BINARY LOGS AND GTIDS. A
// statement that does not parse commits nothing, as in MySQL, where the parser refuses it
// before anything runs.
func CommitsImplicitly(q string) bool {
	p := &parser{lx: lexer{q: q}}
	p.advance()
	if p.isWord("FLUSH") {
		return true
	}
	st, err := Parse(q)
	if err != nil {
		return false
	}
	switch st.(type) {
	case *ChangeSource, *StartReplica, *StopReplica, *ResetReplica, *ResetBinaryLogs:
		return true
	}
	return false
}

// parser reads one statement with one token of lookahead.
type parser struct {
	lx  lexer
	tok token
	bad bool // tok marks a lexing error (an unterminated quote or comment)
}

func (p *parser) advance() {
	var ok bool
	p.tok, ok = p.lx.next()
	p.bad = !ok
}

// fail is the syntax error at the current token.
func (p *parser) fail() error { return syntaxError(p.lx.q, p.tok.pos) }

// failAt is the syntax error at an earlier token, at offset pos (a value read but refused).
func (p *parser) failAt(pos int) error { return syntaxError(p.lx.q, pos) }

func (p *parser) isWord(w string) bool {
	return p.tok.kind == tWord && strings.EqualFold(p.tok.text, w)
}

// accept consumes the keyword w if it is next.
func (p *parser) accept(w string) bool {
	if p.isWord(w) {
		p.advance()
		return true
	}
	return false
}

// expect consumes the keywords ws in order, or fails at the first missing one.
func (p *parser) expect(ws ...string) error {
	for _, w := range ws {
		if !p.accept(w) {
			return p.fail()
		}
	}
	return nil
}

func (p *parser) acceptPunct(s string) bool {
	if !p.bad && p.tok.kind == tPunct && p.tok.text == s {
		p.advance()
		return true
	}
	return false
}

// end accepts an optional ';' and then requires the end of the statement.
func (p *parser) end() error {
	p.acceptPunct(";")
	if p.bad || p.tok.kind != tEOF {
		return p.fail()
	}
	return nil
}

// str1 reads one string literal (where two may follow each other).
func (p *parser) str1() (string, error) {
	if p.bad || p.tok.kind != tString {
		return "", p.fail()
	}
	s := p.tok.text
	p.advance()
	return s, nil
}

// str reads a string literal; adjacent literals are one, as in MySQL ('a' 'b' is 'ab').
func (p *parser) str() (string, error) {
	if p.bad || p.tok.kind != tString {
		return "", p.fail()
	}
	s := p.tok.text
	for p.advance(); !p.bad && p.tok.kind == tString; p.advance() {
		s += p.tok.text
	}
	return s, nil
}

func (p *parser) uint() (uint64, error) {
	if p.bad || p.tok.kind != tNumber || strings.IndexByte(p.tok.text, '.') >= 0 {
		return 0, p.fail()
	}
	n, err := strconv.ParseUint(p.tok.text, 10, 64)
	if err != nil {
		return 0, p.fail()
	}
	p.advance()
	return n, nil
}

func (p *parser) decimal() (float64, error) {
	if p.bad || p.tok.kind != tNumber {
		return 0, p.fail()
	}
	f, err := strconv.ParseFloat(p.tok.text, 64)
	if err != nil {
		return 0, p.fail()
	}
	p.advance()
	return f, nil
}

// idList reads ( n, n, … ), possibly empty.
func (p *parser) idList() ([]uint64, error) {
	if !p.acceptPunct("(") {
		return nil, p.fail()
	}
	var ids []uint64
	if p.acceptPunct(")") {
		return ids, nil
	}
	for {
		n, err := p.uint()
		if err != nil {
			return nil, err
		}
		ids = append(ids, n)
		if p.acceptPunct(")") {
			return ids, nil
		}
		if !p.acceptPunct(",") {
			return nil, p.fail()
		}
	}
}

// name reads an identifier or a string: a word, a `quoted` identifier or a '…' literal.
func (p *parser) name() (string, error) {
	if !p.bad && (p.tok.kind == tWord || p.tok.kind == tIdent) {
		s := p.tok.text
		p.advance()
		return s, nil
	}
	return p.str()
}

// account reads user@host, each part a name (MySQL's user rule).
func (p *parser) account() (user, host string, err error) {
	if user, err = p.name(); err != nil {
		return "", "", err
	}
	if !p.acceptPunct("@") {
		return "", "", p.fail()
	}
	host, err = p.name()
	return user, host, err
}

// channel reads an optional FOR CHANNEL 'name'.
func (p *parser) channel(c *Channel) error {
	if !p.accept("FOR") {
		return nil
	}
	if err := p.expect("CHANNEL"); err != nil {
		return err
	}
	name, err := p.str()
	if err != nil {
		return err
	}
	*c = Channel{Named: true, Name: name}
	return nil
}

func (p *parser) show() (Statement, error) {
	switch {
	case p.accept("BINARY"):
		if p.accept("LOGS") {
			return &ShowBinaryLogs{}, p.end()
		}
		return &ShowBinaryLogStatus{}, p.then(p.expect("LOG", "STATUS"))
	case p.accept("MASTER"):
		if p.accept("LOGS") {
			return &ShowBinaryLogs{}, p.end()
		}
		return &ShowBinaryLogStatus{}, p.then(p.expect("STATUS"))
	case p.accept("BINLOG"):
		st := &ShowBinlogEvents{}
		return st, p.showEvents(st)
	case p.accept("REPLICAS"):
		return &ShowReplicas{}, p.end()
	case p.accept("REPLICA"):
		st := &ShowReplicaStatus{}
		return st, p.replicaStatus(st)
	case p.accept("SLAVE"):
		if p.accept("HOSTS") {
			return &ShowReplicas{Legacy: true}, p.end()
		}
		st := &ShowReplicaStatus{Legacy: true}
		return st, p.replicaStatus(st)
	case p.accept("CLUSTER"):
		st := &ShowCluster{}
		if st.Journal = p.accept("JOURNAL"); !st.Journal {
			if err := p.expect("STATUS"); err != nil {
				return st, err
			}
		}
		return st, p.end()
	}
	return nil, nil
}

// then is err, or else the end of the statement.
func (p *parser) then(err error) error {
	if err != nil {
		return err
	}
	return p.end()
}

func (p *parser) replicaStatus(st *ShowReplicaStatus) error {
	if err := p.expect("STATUS"); err != nil {
		return err
	}
	return p.then(p.channel(&st.Channel))
}

// showEvents reads SHOW BINLOG EVENTS [IN 'file'] [FROM pos] [LIMIT [offset,] count | LIMIT
// count OFFSET offset].
func (p *parser) showEvents(st *ShowBinlogEvents) error {
	var err error
	if err = p.expect("EVENTS"); err != nil {
		return err
	}
	if p.accept("IN") {
		if st.File, err = p.str(); err != nil {
			return err
		}
	}
	if p.accept("FROM") {
		if st.From, err = p.uint(); err != nil {
			return err
		}
		st.HasFrom = true
	}
	if p.accept("LIMIT") {
		st.HasLimit = true
		if st.Count, err = p.uint(); err != nil {
			return err
		}
		switch {
		case p.acceptPunct(","):
			st.Offset = st.Count
			if st.Count, err = p.uint(); err != nil {
				return err
			}
		case p.accept("OFFSET"):
			if st.Offset, err = p.uint(); err != nil {
				return err
			}
		}
	}
	return p.end()
}

func (p *parser) change() (Statement, error) {
	switch {
	case p.accept("MASTER"):
		st := &ChangeSource{Legacy: true}
		return st, p.changeSource(st)
	case p.accept("REPLICATION"):
		if p.accept("FILTER") {
			st := &ChangeFilter{}
			return st, p.changeFilter(st)
		}
		st := &ChangeSource{}
		if err := p.expect("SOURCE"); err != nil {
			return st, err
		}
		return st, p.changeSource(st)
	}
	return nil, nil
}

func (p *parser) changeSource(st *ChangeSource) error {
	if err := p.expect("TO"); err != nil {
		return err
	}
	for {
		o, err := p.option(optionByName)
		if err != nil {
			return err
		}
		st.Options = append(st.Options, o)
		if !p.acceptPunct(",") {
			break
		}
	}
	return p.then(p.channel(&st.Channel))
}

// changeFilter reads CHANGE REPLICATION FILTER kind = (…) [, kind = (…)]… [FOR CHANNEL 'c']:
// names (bare, `quoted`, db.table with either part quoted) or quoted strings, and for
// REPLICATE_REWRITE_DB pairs ((from, to), …). A kind may appear once.
func (p *parser) changeFilter(st *ChangeFilter) error {
	for {
		if p.tok.kind != tWord {
			return p.fail()
		}
		kind := strings.ToUpper(p.tok.text)
		known := false
		for _, k := range rplfilter.Kinds {
			known = known || k == kind
		}
		for _, f := range st.Filters {
			known = known && f.Kind != kind
		}
		if !known {
			return p.fail()
		}
		p.advance()
		if !p.acceptPunct("=") || !p.acceptPunct("(") {
			return p.fail()
		}
		f := Filter{Kind: kind}
		if !p.acceptPunct(")") {
			for {
				if kind == "REPLICATE_REWRITE_DB" {
					if !p.acceptPunct("(") {
						return p.fail()
					}
					from, err := p.filterItem()
					if err != nil {
						return err
					}
					if !p.acceptPunct(",") {
						return p.fail()
					}
					to, err := p.filterItem()
					if err != nil {
						return err
					}
					if !p.acceptPunct(")") {
						return p.fail()
					}
					f.Rewrites = append(f.Rewrites, Rewrite{From: from, To: to})
				} else {
					v, err := p.filterItem()
					if err != nil {
						return err
					}
					f.Values = append(f.Values, v)
				}
				if p.acceptPunct(")") {
					break
				}
				if !p.acceptPunct(",") {
					return p.fail()
				}
			}
		}
		st.Filters = append(st.Filters, f)
		if !p.acceptPunct(",") {
			break
		}
	}
	return p.then(p.channel(&st.Channel))
}

// filterItem reads a name or db.table (either part a word, a number, `quoted` or 'quoted'),
// or a pattern string.
func (p *parser) filterItem() (string, error) {
	var b strings.Builder
	for {
		switch {
		case !p.bad && (p.tok.kind == tWord || p.tok.kind == tIdent || p.tok.kind == tNumber):
			b.WriteString(p.tok.text)
			p.advance()
		case !p.bad && p.tok.kind == tString:
			s, _ := p.str()
			b.WriteString(s)
		default:
			return "", p.fail()
		}
		if !p.acceptPunct(".") {
			return b.String(), nil
		}
		b.WriteByte('.')
	}
}

// startStop reads the rest of START|STOP REPLICA [thread_types] [UNTIL …] [FOR CHANNEL 'c']
// (UNTIL for START only).
func (p *parser) startStop(stop bool) (Statement, error) {
	var threads Threads
	var until *Until
	var ch Channel
	err := p.replicaControl(&threads, &until, &ch, !stop)
	if stop {
		return &StopReplica{Threads: threads, Channel: ch}, err
	}
	return &StartReplica{Threads: threads, Until: until, Channel: ch}, err
}

func (p *parser) replicaControl(threads *Threads, until **Until, ch *Channel, withUntil bool) error {
	for first := true; ; first = false {
		switch {
		case p.accept("IO_THREAD"), p.accept("RELAY_THREAD"):
			threads.IO = true
		case p.accept("SQL_THREAD"):
			threads.SQL = true
		default:
			if !first {
				return p.fail()
			}
		}
		if (!threads.IO && !threads.SQL) || !p.acceptPunct(",") {
			break
		}
	}
	if withUntil && p.accept("UNTIL") {
		*until = &Until{}
		if err := p.until(*until); err != nil {
			return err
		}
	}
	return p.then(p.channel(ch))
}

// until reads the conditions of START REPLICA UNTIL and checks that they make one of MySQL's
// combinations: SQL_BEFORE_GTIDS, SQL_AFTER_GTIDS, SQL_AFTER_MTS_GAPS, SOURCE_LOG_FILE with
// SOURCE_LOG_POS, or RELAY_LOG_FILE with RELAY_LOG_POS.
func (p *parser) until(u *Until) error {
	seen := map[string]bool{}
	for {
		if p.tok.kind != tWord {
			return p.fail()
		}
		name := strings.ToUpper(p.tok.text)
		if strings.HasPrefix(name, "MASTER_") {
			name = "SOURCE_" + name[len("MASTER_"):]
		}
		if seen[name] {
			return badUntil(name + " given twice")
		}
		seen[name] = true
		switch name {
		case "SQL_AFTER_MTS_GAPS":
			p.advance()
			u.AfterMTSGaps = true
		case "SQL_BEFORE_GTIDS", "SQL_AFTER_GTIDS", "SOURCE_LOG_FILE", "RELAY_LOG_FILE", "SOURCE_LOG_POS", "RELAY_LOG_POS":
			p.advance()
			if !p.acceptPunct("=") {
				return p.fail()
			}
			if err := p.untilValue(u, name); err != nil {
				return err
			}
		default:
			return p.fail()
		}
		if !p.acceptPunct(",") {
			break
		}
	}
	switch {
	case len(seen) == 1 && (u.BeforeGTIDs != nil || u.AfterGTIDs != nil || u.AfterMTSGaps):
	case len(seen) == 2 && u.SourceLogFile != "" && u.SourceLogPos > 0:
	case len(seen) == 2 && u.RelayLogFile != "" && u.RelayLogPos > 0:
	default:
		return badUntil("give SQL_BEFORE_GTIDS, SQL_AFTER_GTIDS, or SOURCE_LOG_FILE with SOURCE_LOG_POS")
	}
	return nil
}

// untilValue reads the value of the UNTIL condition name (after its =) into u.
func (p *parser) untilValue(u *Until, name string) error {
	if name == "SOURCE_LOG_POS" || name == "RELAY_LOG_POS" {
		n, err := p.uint()
		if err != nil {
			return err
		}
		if name == "SOURCE_LOG_POS" {
			u.SourceLogPos = n
		} else {
			u.RelayLogPos = n
		}
		return nil
	}
	s, err := p.str()
	if err != nil {
		return err
	}
	switch name {
	case "SOURCE_LOG_FILE":
		u.SourceLogFile = s
	case "RELAY_LOG_FILE":
		u.RelayLogFile = s
	default: // SQL_BEFORE_GTIDS, SQL_AFTER_GTIDS
		set, err := gtid.Parse(s)
		if err != nil {
			return malformedGTIDSet(s)
		}
		if name == "SQL_BEFORE_GTIDS" {
			u.BeforeGTIDs = &set
		} else {
			u.AfterGTIDs = &set
		}
	}
	return nil
}

func (p *parser) reset() (Statement, error) {
	switch {
	case p.accept("MASTER"):
		return &ResetBinaryLogs{Legacy: true}, p.end()
	case p.accept("BINARY"):
		return &ResetBinaryLogs{}, p.then(p.expect("LOGS", "AND", "GTIDS"))
	case p.accept("REPLICA"):
		st := &ResetReplica{}
		return st, p.resetReplica(st)
	case p.accept("SLAVE"):
		st := &ResetReplica{Legacy: true}
		return st, p.resetReplica(st)
	}
	return nil, nil
}

func (p *parser) resetReplica(st *ResetReplica) error {
	st.All = p.accept("ALL")
	return p.then(p.channel(&st.Channel))
}

// flush claims FLUSH [NO_WRITE_TO_BINLOG | LOCAL] [BINARY] LOGS only: the other FLUSH
// statements (TABLES, PRIVILEGES, ERROR LOGS, lists) are GMS's.
func (p *parser) flush() (Statement, error) {
	st := &FlushBinaryLogs{}
	st.NoWriteToBinlog = p.accept("NO_WRITE_TO_BINLOG") || p.accept("LOCAL")
	st.BinaryOnly = p.accept("BINARY")
	if !p.accept("LOGS") {
		return nil, nil
	}
	if p.end() != nil {
		return nil, nil
	}
	return st, nil
}

// purge reads the rest of PURGE BINARY|MASTER LOGS TO 'file' | BEFORE 'datetime'.
func (p *parser) purge() (Statement, error) {
	st := &PurgeBinaryLogs{}
	if err := p.expect("LOGS"); err != nil {
		return st, err
	}
	if st.Before = p.accept("BEFORE"); !st.Before {
		if err := p.expect("TO"); err != nil {
			return st, err
		}
	}
	var err error
	if st.Target, err = p.str(); err != nil {
		return st, err
	}
	return st, p.end()
}

// switchover reads SWITCHOVER [TO 'member'] [MODE RELIABILITY|AVAILABILITY] [MAX LAG seconds].
func (p *parser) switchover() (Statement, error) {
	st := &Switchover{}
	var err error
	if p.accept("TO") {
		if st.To, err = p.str(); err != nil {
			return st, err
		}
	}
	if p.accept("MODE") {
		switch {
		case p.accept("RELIABILITY"):
			st.Mode = "reliability"
		case p.accept("AVAILABILITY"):
			st.Mode = "availability"
		default:
			return st, p.fail()
		}
	}
	if p.accept("MAX") {
		if err := p.expect("LAG"); err != nil {
			return st, err
		}
		if st.MaxLag, err = p.decimal(); err != nil {
			return st, err
		}
		st.HasMaxLag = true
	}
	return st, p.end()
}

// setPurged reads SET GLOBAL gtid_purged = 'set' and SET @@GLOBAL.gtid_purged = 'set' (= or
// :=), also as mysqldump writes it: SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'set'. Anything else
// is not ours.
func (p *parser) setPurged() (Statement, error) {
	if !p.accept("GLOBAL") {
		if !p.acceptPunct("@") || !p.acceptPunct("@") || !p.accept("GLOBAL") || !p.acceptPunct(".") {
			return nil, nil
		}
	}
	if !p.accept("GTID_PURGED") {
		return nil, nil
	}
	if !p.acceptPunct("=") && !(p.acceptPunct(":") && p.acceptPunct("=")) {
		return nil, nil
	}
	v, err := p.str()
	if err != nil || p.end() != nil {
		return nil, nil
	}
	return &SetGTIDPurged{Value: v}, nil
}
