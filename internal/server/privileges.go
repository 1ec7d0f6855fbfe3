package server

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"

	"github.com/relaydb/relaydb/internal/commitlog"
	"github.com/relaydb/relaydb/internal/fsutil"
)

// filePersister writes GMS's mysql_db flatbuffer (users, grants, roles) to
// <datadir>/mysql.db. GMS calls Persist while holding the mysql_db write lock,
// after changing its in-memory tables and before answering the client, so a
// statement such as CREATE USER is acknowledged only once the file is on disk.
//
// When the node has a binary log, logAccount then logs the statement (see accountLogger):
// the file first, so a statement that fails to persist is never logged.
type filePersister struct {
	path       string
	logAccount func(ctx *sql.Context, data []byte) error // nil: nothing is logged
}

var _ mysql_db.MySQLDbPersistence = (*filePersister)(nil)

func (p *filePersister) Persist(ctx *sql.Context, data []byte) error {
	if err := fsutil.WriteFileAtomic(p.path, data, 0o600); err != nil {
		return fmt.Errorf("persist users and privileges to %s: %w", p.path, err)
	}
	if p.logAccount != nil && ctx != nil && ctx.Session != nil {
		return p.logAccount(ctx, data)
	}
	return nil
}

// accountLogger is implemented by storage backends with a binary log: LogAccountStatement
// commits an account statement's QUERY event (stmt is the text to log, passwords hashed).
type accountLogger interface {
	LogAccountStatement(ctx *sql.Context, stmt string) error
}

// accountStatementLogger returns the persister's hook that logs the account statement ctx runs
// (nothing for other statements that persist the privileges, such as FLUSH PRIVILEGES). data is
// the privilege tables as just persisted: passwords are logged in their stored form from it.
func accountStatementLogger(al accountLogger) func(ctx *sql.Context, data []byte) error {
	return func(ctx *sql.Context, data []byte) error {
		stored := func(user, host string) (string, string, bool) {
			db := mysql_db.CreateEmptyMySQLDb()
			if err := db.LoadData(ctx, data); err != nil {
				return "", "", false
			}
			rd := db.Reader()
			defer rd.Close()
			u, ok := rd.GetUser(mysql_db.UserPrimaryKey{Host: host, User: user})
			if !ok {
				return "", "", false
			}
			return u.Plugin, u.AuthString, true
		}
		stmt, ok, err := commitlog.AccountStatement(ctx.Query(), stored)
		if !ok {
			return nil
		}
		if err != nil {
			return err
		}
		return al.LogAccountStatement(ctx, stmt)
	}
}

// loadPrivileges loads <datadir>/mysql.db into db and installs the persister.
// On first start (no file yet) it creates root@localhost with rootPassword
// and all privileges, and writes the file. GMS matches client addresses
// 127.0.0.1 and ::1 to the host "localhost", so root@localhost is what TCP
// clients on loopback log in as, exactly as with MySQL.
func loadPrivileges(ctx *sql.Context, db *mysql_db.MySQLDb, path, rootPassword string, log *slog.Logger, logAccount func(*sql.Context, []byte) error) error {
	db.SetPersister(&filePersister{path: path, logAccount: logAccount})
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		ed := db.Editor()
		defer ed.Close()
		db.AddSuperUser(ed, "root", "localhost", rootPassword)
		if err := db.Persist(ctx, ed); err != nil {
			return err
		}
		log.Info("initialised users and privileges", "file", path, "user", "root@localhost",
			"password", map[bool]string{true: "empty", false: "set"}[rootPassword == ""])
		return nil
	case err != nil:
		return fmt.Errorf("read users and privileges: %w", err)
	case len(data) == 0:
		return fmt.Errorf("users and privileges file %s is empty; restore it from a backup or remove it to recreate root@localhost", path)
	}
	if err := db.LoadData(ctx, data); err != nil {
		return fmt.Errorf("load users and privileges from %s: %w", path, err)
	}
	db.SetEnabled(true)

	if rootPassword != "" {
		rd := db.Reader()
		root, ok := rd.GetUser(mysql_db.UserPrimaryKey{Host: "localhost", User: "root"})
		rd.Close()
		if ok && root.Plugin == "mysql_native_password" && root.AuthString != nativeHash(rootPassword) {
			log.Warn("--root-password differs from root@localhost's stored password and is ignored: " +
				"it is only used when the datadir is first initialised; use ALTER USER to change it")
		}
	}
	return nil
}

// nativeHash is mysql_native_password's stored form: "*" + hex(SHA1(SHA1(pw))).
func nativeHash(password string) string {
	if password == "" {
		return ""
	}
	s1 := sha1.Sum([]byte(password))
	s2 := sha1.Sum(s1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(s2[:]))
}

// cloneAdminPrivilege is MySQL's CLONE_ADMIN dynamic privilege, as GMS names it.
const cloneAdminPrivilege = "clone_admin"

// EnsureReplicationUser creates user@'%' with REPLICATION SLAVE, REPLICATION CLIENT and
// CLONE_ADMIN and the given password on this node only (not logged: every cluster member creates
// it at start, so a replica can reach any member that becomes primary), or resets its password
// or privileges if they differ.
func (n *Node) EnsureReplicationUser(user, password string) error {
	db := n.engine.Analyzer.Catalog.MySQLDb
	ed := db.Editor()
	defer ed.Close()
	key := mysql_db.UserPrimaryKey{Host: "%", User: user}
	u, ok := ed.GetUser(key)
	hash := nativeHash(password)
	// CLONE_ADMIN: a member whose errant transactions cannot be rewound clones the primary
	// through this account (the donor needs BACKUP_ADMIN or CLONE_ADMIN).
	if ok && u.AuthString == hash && u.Plugin == "mysql_native_password" && u.PrivilegeSet.HasDynamic(cloneAdminPrivilege) {
		return nil
	}
	if !ok {
		ps := mysql_db.NewPrivilegeSet()
		ps.AddGlobalStatic(sql.PrivilegeType_ReplicationSlave, sql.PrivilegeType_ReplicationClient)
		u = &mysql_db.User{User: user, Host: "%", PrivilegeSet: ps, PasswordLastChanged: time.Now().UTC()}
	}
	u.PrivilegeSet.AddGlobalDynamic(false, cloneAdminPrivilege)
	u.Plugin, u.AuthString = "mysql_native_password", hash
	ed.PutUser(u)
	if err := db.Persist(sql.NewEmptyContext(), ed); err != nil {
		return fmt.Errorf("create replication user %s: %w", user, err)
	}
	n.log.Info("cluster replication account ready", "user", user+"@%")
	return nil
}
