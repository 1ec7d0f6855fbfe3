package rplfilter

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// Rewrite is one replicate-rewrite-db pair.
type Rewrite struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Rules are the filters of a replica. The zero value applies everything.
type Rules struct {
	DoDB            []string  `json:"do_db,omitempty"`
	IgnoreDB        []string  `json:"ignore_db,omitempty"`
	DoTable         []string  `json:"do_table,omitempty"`          // db.table
	IgnoreTable     []string  `json:"ignore_table,omitempty"`      // db.table
	WildDoTable     []string  `json:"wild_do_table,omitempty"`     // LIKE pattern on db.table
	WildIgnoreTable []string  `json:"wild_ignore_table,omitempty"` // LIKE pattern on db.table
	RewriteDB       []Rewrite `json:"rewrite_db,omitempty"`
}

// Empty reports whether no filter is set.
func (r *Rules) Empty() bool {
	return r == nil || len(r.DoDB)+len(r.IgnoreDB)+len(r.DoTable)+len(r.IgnoreTable)+
		len(r.WildDoTable)+len(r.WildIgnoreTable)+len(r.RewriteDB) == 0
}

// Kinds are the filter names of CHANGE REPLICATION FILTER, in SHOW REPLICA STATUS order.
var Kinds = []string{"REPLICATE_DO_DB", "REPLICATE_IGNORE_DB", "REPLICATE_DO_TABLE", "REPLICATE_IGNORE_TABLE",
	"REPLICATE_WILD_DO_TABLE", "REPLICATE_WILD_IGNORE_TABLE", "REPLICATE_REWRITE_DB"}

// Set replaces the list of one kind (a name of Kinds) with values: database names, db.table
// names, patterns, or for REPLICATE_REWRITE_DB "from->to" pairs. An empty list clears it.
func (r *Rules) Set(kind string, values []string) error {
	var list []string
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			return fmt.Errorf("%s: empty value", kind)
		}
		list = append(list, v)
	}
	switch strings.ToUpper(kind) {
	case "REPLICATE_DO_DB":
		r.DoDB = list
	case "REPLICATE_IGNORE_DB":
		r.IgnoreDB = list
	case "REPLICATE_DO_TABLE", "REPLICATE_IGNORE_TABLE":
		for _, v := range list {
			if db, t, ok := strings.Cut(v, "."); !ok || db == "" || t == "" {
				return fmt.Errorf("%s: %q is not db.table", kind, v)
			}
		}
		if strings.EqualFold(kind, "REPLICATE_DO_TABLE") {
			r.DoTable = list
		} else {
			r.IgnoreTable = list
		}
	case "REPLICATE_WILD_DO_TABLE", "REPLICATE_WILD_IGNORE_TABLE":
		for _, v := range list {
			if !strings.Contains(v, ".") {
				return fmt.Errorf("%s: %q is not a db.table pattern", kind, v)
			}
		}
		if strings.EqualFold(kind, "REPLICATE_WILD_DO_TABLE") {
			r.WildDoTable = list
		} else {
			r.WildIgnoreTable = list
		}
	case "REPLICATE_REWRITE_DB":
		var rw []Rewrite
		for _, v := range list {
			from, to, ok := strings.Cut(v, "->")
			from, to = strings.TrimSpace(from), strings.TrimSpace(to)
			if !ok || from == "" || to == "" {
				return fmt.Errorf("%s: %q is not from->to", kind, v)
			}
			rw = append(rw, Rewrite{From: from, To: to})
		}
		r.RewriteDB = rw
	default:
		return fmt.Errorf("unknown replication filter %s", kind)
	}
	return nil
}

// Show returns the SHOW REPLICA STATUS value of one kind: the list joined by commas, rewrite
// pairs as (from,to).
func (r *Rules) Show(kind string) string {
	if r == nil {
		return ""
	}
	switch kind {
	case "REPLICATE_DO_DB":
		return strings.Join(r.DoDB, ",")
	case "REPLICATE_IGNORE_DB":
		return strings.Join(r.IgnoreDB, ",")
	case "REPLICATE_DO_TABLE":
		return strings.Join(r.DoTable, ",")
	case "REPLICATE_IGNORE_TABLE":
		return strings.Join(r.IgnoreTable, ",")
	case "REPLICATE_WILD_DO_TABLE":
		return strings.Join(r.WildDoTable, ",")
	case "REPLICATE_WILD_IGNORE_TABLE":
		return strings.Join(r.WildIgnoreTable, ",")
	case "REPLICATE_REWRITE_DB":
		var parts []string
		for _, rw := range r.RewriteDB {
			parts = append(parts, "("+rw.From+","+rw.To+")")
		}
		return strings.Join(parts, ",")
	}
	return ""
}

// RewriteDB returns the database db is renamed to (db itself when no rule names it).
func (r *Rules) RewriteName(db string) string {
	if r == nil {
		return db
	}
	for _, rw := range r.RewriteDB {
		if strings.EqualFold(rw.From, db) {
			return rw.To
		}
	}
	return db
}

// dbAllowed is the database level, for a database already rewritten.
func (r *Rules) dbAllowed(db string) bool {
	if len(r.DoDB) > 0 {
		return contains(r.DoDB, db)
	}
	return !contains(r.IgnoreDB, db)
}

func (r *Rules) hasTableRules() bool {
	return len(r.DoTable)+len(r.IgnoreTable)+len(r.WildDoTable)+len(r.WildIgnoreTable) > 0
}

// tableMatch is the table level for one table of a rewritten database: whether an option
// matched it (decided), and if so whether it is kept.
func (r *Rules) tableMatch(db, table string) (decided, keep bool) {
	name := db + "." + table
	if contains(r.DoTable, name) {
		return true, true
	}
	if contains(r.IgnoreTable, name) {
		return true, false
	}
	for _, p := range r.WildDoTable {
		if Like(p, name) {
			return true, true
		}
	}
	for _, p := range r.WildIgnoreTable {
		if Like(p, name) {
			return true, false
		}
	}
	return false, false
}

// unmatched is the table level's answer when no option matched: drop if any do option exists.
func (r *Rules) unmatched() bool { return len(r.DoTable)+len(r.WildDoTable) == 0 }

// Table reports whether changes to db.table (a row event's mapped table; db already rewritten)
// are applied.
func (r *Rules) Table(db, table string) bool {
	if r.Empty() {
		return true
	}
	if !r.dbAllowed(db) {
		return false
	}
	if !r.hasTableRules() {
		return true
	}
	if decided, keep := r.tableMatch(db, table); decided {
		return keep
	}
	return r.unmatched()
}

var reDatabaseDDL = regexp.MustCompile("(?is)^\\s*(?:/\\*.*?\\*/\\s*)*(?:CREATE|ALTER|DROP)\\s+(?:DATABASE|SCHEMA)\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?(`(?:[^`]|``)+`|[^\\s;`]+)")

// Statement reports whether a statement logged as text runs, given its default database
// (already rewritten; "" for none).
func (r *Rules) Statement(defaultDB, query string) bool {
	if r.Empty() {
		return true
	}
	db := defaultDB
	if m := reDatabaseDDL.FindStringSubmatch(query); m != nil {
		if !databaseOption(m[1]) { // ALTER DATABASE CHARACTER SET …: the default database
			db = unquote(m[1])
		}
		return r.dbAllowed(db) // no tables named
	}
	if !r.dbAllowed(db) {
		return false
	}
	if !r.hasTableRules() {
		return true
	}
	tables := statementTables(defaultDB, query)
	if len(tables) == 0 {
		return true
	}
	for _, t := range tables {
		if decided, keep := r.tableMatch(t[0], t[1]); decided {
			return keep
		}
	}
	return r.unmatched()
}

// statementTables lists the tables a statement names, as {db, table}, unqualified names in
// defaultDB; nil when the statement cannot be parsed.
func statementTables(defaultDB, query string) [][2]string {
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return nil
	}
	if ins, ok := stmt.(*sqlparser.Insert); ok {
		// Only the table written counts (INSERT … SELECT reads others).
		db := defaultDB
		if !ins.Table.DbQualifier.IsEmpty() {
			db = ins.Table.DbQualifier.String()
		}
		return [][2]string{{db, ins.Table.Name.String()}}
	}
	var out [][2]string
	add := func(tn sqlparser.TableName) {
		if tn.Name.IsEmpty() {
			return
		}
		db := defaultDB
		if !tn.DbQualifier.IsEmpty() {
			db = tn.DbQualifier.String()
		}
		t := [2]string{db, tn.Name.String()}
		for _, o := range out {
			if o == t {
				return
			}
		}
		out = append(out, t)
	}
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch x := n.(type) {
		case *sqlparser.ColName:
			return false, nil // its qualifier names a table already listed, or an alias
		case sqlparser.TableName:
			add(x)
		case *sqlparser.TableName:
			add(*x)
		case *sqlparser.DDL:
			add(x.Table)
			for _, t := range x.FromTables {
				add(t)
			}
			for _, t := range x.ToTables {
				add(t)
			}
		}
		return true, nil
	}, stmt)
	return out
}

// databaseOption reports whether the word after ALTER DATABASE is an option, not a name.
func databaseOption(word string) bool {
	switch strings.ToUpper(word) {
	case "CHARACTER", "CHARSET", "COLLATE", "DEFAULT", "ENCRYPTION", "READ":
		return true
	}
	return false
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '`' && s[len(s)-1] == '`' {
		return strings.ReplaceAll(s[1:len(s)-1], "``", "`")
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Like matches s against a LIKE pattern (% any run, _ any one character, \ escapes), ignoring
// case.
func Like(pattern, s string) bool {
	p, t := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(s))
	var match func(i, j int) bool
	match = func(i, j int) bool {
		for i < len(p) {
			switch p[i] {
			case '%':
				for i < len(p) && p[i] == '%' {
					i++
				}
				if i == len(p) {
					return true
				}
				for k := j; k <= len(t); k++ {
					if match(i, k) {
						return true
					}
				}
				return false
			case '_':
				if j >= len(t) {
					return false
				}
			case '\\':
				if i+1 < len(p) {
					i++
				}
				if j >= len(t) || t[j] != p[i] {
					return false
				}
			default:
				if j >= len(t) || t[j] != p[i] {
					return false
				}
			}
			i++
			j++
		}
		return j == len(t)
	}
	return match(0, 0)
}
