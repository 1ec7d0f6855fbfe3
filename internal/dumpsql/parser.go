package dumpsql

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// Parser returns the engine's parser: GMS's MySQL parser, with the statements of this package
// planned as its own nodes (ast.InjectedStatement) and YEAR(4) columns accepted. It is
// installed as the engine's BuilderOverrides.Parser, so client statements, stored programs and
// the replication applier all go through it.
func (r *Routines) Parser() sql.Parser { return &parser{r: r, inner: sql.NewMysqlParser()} }

type parser struct {
	r     *Routines
	inner *sql.MysqlParser
}

var _ sql.Parser = (*parser)(nil)

func (p *parser) ParseSimple(query string) (ast.Statement, error) {
	st, _, _, err := p.ParseWithOptions(context.Background(), query, ';', false, ast.ParserOptions{})
	return st, err
}

func (p *parser) Parse(ctx *sql.Context, query string, multi bool) (ast.Statement, string, string, error) {
	return p.ParseWithOptions(ctx, query, ';', multi, sql.LoadSqlMode(ctx).ParserOptions())
}

func (p *parser) ParseWithOptions(ctx context.Context, query string, delimiter rune, multi bool, options ast.ParserOptions) (ast.Statement, string, string, error) {
	s := sql.RemoveSpaceAndDelimiter(query, delimiter)
	if st, end, ok, err := p.ours(ctx, s, options); ok {
		if err != nil {
			return nil, s, "", err
		}
		parsed, rem := s, ""
		if multi && end < len(s) {
			parsed, rem = sql.RemoveSpaceAndDelimiter(s[:end], delimiter), s[end:]
		}
		return st, parsed, rem, nil
	}
	st, parsed, rem, err := p.inner.ParseWithOptions(ctx, blankYearWidth(s), delimiter, multi, options)
	if err != nil {
		return st, parsed, rem, err
	}
	st, err = p.after(ctx, st)
	return st, parsed, rem, err
}

func (p *parser) ParseOneWithOptions(ctx context.Context, query string, options ast.ParserOptions) (ast.Statement, int, error) {
	if st, end, ok, err := p.ours(ctx, query, options); ok {
		return st, end, err
	}
	st, end, err := p.inner.ParseOneWithOptions(ctx, blankYearWidth(query), options)
	if err != nil {
		return st, end, err
	}
	st, err = p.after(ctx, st)
	return st, end, err
}

// after replaces GMS's SHOW CREATE TRIGGER, SHOW CREATE PROCEDURE and SHOW CREATE TABLE/VIEW of
// a view by this package's, and
// keeps the check GMS's planner makes only when its parser is the plain MySQL one (foreign keys
// with SET DEFAULT are refused, as in MySQL).
func (p *parser) after(ctx context.Context, st ast.Statement) (ast.Statement, error) {
	switch s := st.(type) {
	case *ast.Show:
		switch strings.ToLower(s.Type) {
		case ast.CreateTableStr, ast.CreateViewStr:
			// Of a view (mariadb-dump uses SHOW CREATE TABLE for views too): the recorded
			// character sets. Tables are left to GMS.
			sctx, ok := ctx.(*sql.Context)
			if !ok || (s.ShowTablesOpt != nil && s.ShowTablesOpt.AsOf != nil) { // AS OF: GMS's
				break
			}
			db := s.Table.DbQualifier.String()
			if db == "" {
				db = sctx.GetCurrentDatabase()
			}
			d, err := p.r.provider.Database(sctx, db)
			if err != nil {
				break
			}
			vd, ok := d.(sql.ViewDatabase)
			if !ok {
				break
			}
			if _, found, err := vd.GetViewDefinition(sctx, s.Table.Name.String()); err != nil || !found {
				break
			}
			return ast.InjectedStatement{Statement: injected{newShowCreateNode(p.r, "view", db, s.Table.Name.String())}, Auth: s.Auth}, nil
		case ast.CreateTriggerStr, ast.CreateProcedureStr:
			kind := "trigger"
			if strings.ToLower(s.Type) == ast.CreateProcedureStr {
				kind = "procedure"
			}
			name := s.Table.Name.String()
			db := s.Table.DbQualifier.String()
			return ast.InjectedStatement{Statement: injected{newShowCreateNode(p.r, kind, db, name)}, Auth: s.Auth}, nil
		}
	case *ast.DDL:
		if setDefaultForeignKey(s.TableSpec) {
			return nil, sql.ErrForeignKeySetDefault.New()
		}
	case *ast.AlterTable:
		for _, d := range s.Statements {
			if setDefaultForeignKey(d.TableSpec) {
				return nil, sql.ErrForeignKeySetDefault.New()
			}
		}
	}
	return st, nil
}

// setDefaultForeignKey reports whether spec has a foreign key with ON DELETE or ON UPDATE SET
// DEFAULT, which MySQL parses and refuses.
func setDefaultForeignKey(spec *ast.TableSpec) bool {
	if spec == nil {
		return false
	}
	for _, c := range spec.Constraints {
		if fk, ok := c.Details.(*ast.ForeignKeyDefinition); ok && (fk.OnDelete == ast.SetDefault || fk.OnUpdate == ast.SetDefault) {
			return true
		}
	}
	return false
}

// ours parses the statements GMS's parser lacks: CREATE FUNCTION, DROP FUNCTION, SHOW CREATE
// FUNCTION and SHOW FUNCTION STATUS. ok is false for any other statement; end is where the
// statement ends in s.
func (p *parser) ours(ctx context.Context, s string, options ast.ParserOptions) (st ast.Statement, end int, ok bool, err error) {
	head := scan(s, 1)
	if len(head) == 0 {
		return nil, 0, false, nil
	}
	switch {
	case head[0].is(s, "create"):
		if !mentionsFunction(s) {
			return nil, 0, false, nil
		}
		clean := stripExecMarkers(s)
		cf, err := parseCreateFunction(clean, options)
		if err == errNotOurs {
			return nil, 0, false, nil
		}
		if err != nil {
			return nil, 0, true, err
		}
		end := len(s)
		if cf.end < len(clean) && len(clean) == len(s) {
			end = cf.end
		}
		db := cf.db
		return ast.InjectedStatement{Statement: injected{&createFunctionNode{r: p.r, cf: cf}},
			Auth: ast.AuthInformation{AuthType: ast.AuthType_CREATE_ROUTINE, TargetType: ast.AuthTargetType_DatabaseIdentifiers, TargetNames: []string{db}}}, end, true, nil
	case head[0].is(s, "drop"), head[0].is(s, "show"):
		if q, end, ok := p.showFunctionStatus(ctx, s, options); ok {
			st, _, err := p.inner.ParseOneWithOptions(ctx, q, options)
			return st, end, true, err
		}
		clean := stripExecMarkers(s)
		x, end, err := parseDropOrShow(clean)
		if err == errNotOurs {
			return nil, 0, false, nil
		}
		if err != nil {
			return nil, 0, true, err
		}
		if len(clean) != len(s) {
			end = len(s)
		}
		switch x := x.(type) {
		case *dropFunction:
			return ast.InjectedStatement{Statement: injected{&dropFunctionNode{r: p.r, d: x}},
				Auth: ast.AuthInformation{AuthType: ast.AuthType_ALTER_ROUTINE, TargetType: ast.AuthTargetType_DatabaseIdentifiers, TargetNames: []string{x.db}}}, end, true, nil
		case *showCreateFunction:
			return ast.InjectedStatement{Statement: injected{newShowCreateNode(p.r, "function", x.db, x.name)},
				Auth: ast.AuthInformation{AuthType: ast.AuthType_SHOW_CREATE_PROCEDURE, TargetType: ast.AuthTargetType_Ignore, TargetNames: []string{x.db}}}, end, true, nil
		}
	}
	return nil, 0, false, nil
}

// mentionsFunction is a cheap test that a CREATE statement may be CREATE FUNCTION: the word
// FUNCTION among its first tokens (CREATE [OR REPLACE] [DEFINER = u@h] [AGGREGATE] FUNCTION).
func mentionsFunction(s string) bool {
	for _, t := range scan(s, 12) {
		if t.is(s, "function") {
			return true
		}
	}
	return false
}

// showFunctionStatus rewrites SHOW FUNCTION STATUS [LIKE 'p' | WHERE expr] into a SELECT over
// the stored functions of every database, with the columns MySQL prints (GMS's own reads
// information_schema.ROUTINES, which does not know them).
func (p *parser) showFunctionStatus(ctx context.Context, s string, options ast.ParserOptions) (string, int, bool) {
	toks := scan(s, 0)
	if len(toks) < 3 || !toks[0].is(s, "show") || !toks[1].is(s, "function") || !toks[2].is(s, "status") {
		return "", 0, false
	}
	end := len(s)
	if last := toks[len(toks)-1]; last.end < len(s) {
		end = last.end
		if strings.HasPrefix(s[end:], ";") {
			end++
		}
	}
	filter := ""
	switch {
	case len(toks) == 3:
	case len(toks) > 4 && toks[3].is(s, "like"):
		filter = " WHERE `Name` LIKE " + s[toks[4].start:toks[len(toks)-1].end]
	case len(toks) > 4 && toks[3].is(s, "where"):
		filter = " WHERE " + s[toks[4].start:toks[len(toks)-1].end]
	default:
		return "", 0, false // GMS's parser reports the syntax error
	}
	sctx, ok := ctx.(*sql.Context)
	if !ok {
		sctx = sql.NewEmptyContext()
	}
	var rows []string
	lit := func(v string) string {
		return "'" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), "'", "''") + "'"
	}
	ts := func(t time.Time) string { return lit(t.UTC().Format("2006-01-02 15:04:05")) }
	{
		for _, db := range p.r.provider.AllDatabases(sctx) {
			fd, ok := db.(FunctionDatabase)
			if !ok {
				continue
			}
			fs, err := fd.GetStoredFunctions(sctx)
			if err != nil {
				continue
			}
			for _, f := range fs {
				client, conn, dbColl := "", "", ""
				if rec, ok := db.(CharsetRecorder); ok {
					client, conn, dbColl, _, _ = rec.RecordedCharsets("function", f.Name)
				}
				rows = append(rows, fmt.Sprintf("SELECT %s AS `Db`, %s AS `Name`, 'FUNCTION' AS `Type`, %s AS `Definer`, "+
					"CAST(%s AS DATETIME) AS `Modified`, CAST(%s AS DATETIME) AS `Created`, 'DEFINER' AS `Security_type`, '' AS `Comment`, "+
					"%s AS `character_set_client`, %s AS `collation_connection`, %s AS `Database Collation`",
					lit(db.Name()), lit(f.Name), lit(definerOf(f.CreateStatement)), ts(f.ModifiedAt), ts(f.CreatedAt),
					lit(client), lit(conn), lit(dbColl)))
			}
		}
	}
	if len(rows) == 0 {
		rows = append(rows, "SELECT '' AS `Db`, '' AS `Name`, 'FUNCTION' AS `Type`, '' AS `Definer`, "+
			"CAST(NULL AS DATETIME) AS `Modified`, CAST(NULL AS DATETIME) AS `Created`, 'DEFINER' AS `Security_type`, '' AS `Comment`, "+
			"'' AS `character_set_client`, '' AS `collation_connection`, '' AS `Database Collation` FROM dual WHERE FALSE")
	}
	return "SELECT * FROM (" + strings.Join(rows, " UNION ALL ") + ") AS `function_status`" + filter + " ORDER BY `Db`, `Name`", end, true
}

// definerOf is the definer of a stored CREATE … DEFINER=`u`@`h` statement, as user@host.
func definerOf(stmt string) string {
	toks := scan(stmt, 8)
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].is(stmt, "definer") && toks[i+1].text(stmt) == "=" {
			u := toks[i+2].ident(stmt)
			if toks[i+2].kind == tokString {
				u = strings.Trim(u, `'"`)
			}
			if i+4 < len(toks) && toks[i+3].text(stmt) == "@" {
				h := toks[i+4].ident(stmt)
				if toks[i+4].kind == tokString {
					h = strings.Trim(h, `'"`)
				}
				return u + "@" + h
			}
			return u
		}
	}
	return ""
}
