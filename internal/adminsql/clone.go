package adminsql

import (
	"math"
	"strconv"

	"github.com/relaydb/relaydb/internal/clonename"
)

// CloneInstance is MySQL's CLONE INSTANCE FROM user@host:port IDENTIFIED BY 'password'
// [DATA DIRECTORY [=] 'dir'] [REQUIRE [NO] SSL], run on the recipient.
type CloneInstance struct {
	User, Host string
	Port       int // 1 to 65535
	Password   string
	DataDir    string // "": replace the node's own data
	RequireSSL *bool  // REQUIRE SSL (true), REQUIRE NO SSL (false), or absent (nil)
}

// CloneDonorBegin is CLONE DONOR BEGIN: RelayDB's donor protocol (internal/clone), sent by a
// recipient to the donor's SQL port; the answer is the manifest.
type CloneDonorBegin struct{}

// CloneDonorRead is CLONE DONOR READ 'id' 'file' offset length: one chunk of a file.
type CloneDonorRead struct {
	ID, File       string
	Offset, Length int64
}

// CloneDonorEnd is CLONE DONOR END 'id': the recipient is done with the checkpoint.
type CloneDonorEnd struct {
	ID string
}

func (*CloneInstance) statement()   {}
func (*CloneDonorBegin) statement() {}
func (*CloneDonorRead) statement()  {}
func (*CloneDonorEnd) statement()   {}

func (s *CloneInstance) String() string {
	out := "CLONE INSTANCE FROM " + quoteString(s.User) + "@" + quoteString(s.Host) + ":" + strconv.Itoa(s.Port) +
		" IDENTIFIED BY " + quoteString(s.Password)
	if s.DataDir != "" {
		out += " DATA DIRECTORY = " + quoteString(s.DataDir)
	}
	if s.RequireSSL != nil {
		if *s.RequireSSL {
			out += " REQUIRE SSL"
		} else {
			out += " REQUIRE NO SSL"
		}
	}
	return out
}

func (*CloneDonorBegin) String() string { return "CLONE DONOR BEGIN" }

func (s *CloneDonorRead) String() string {
	return "CLONE DONOR READ " + quoteString(s.ID) + " " + quoteString(s.File) + " " +
		strconv.FormatInt(s.Offset, 10) + " " + strconv.FormatInt(s.Length, 10)
}

func (s *CloneDonorEnd) String() string { return "CLONE DONOR END " + quoteString(s.ID) }

func (p *parser) clone() (Statement, error) {
	switch {
	case p.accept("INSTANCE"):
		st := &CloneInstance{}
		return st, p.cloneInstance(st)
	case p.accept("DONOR"):
		return p.cloneDonor()
	}
	return nil, nil // CLONE LOCAL and others: not RelayDB's
}

func (p *parser) cloneInstance(st *CloneInstance) error {
	var err error
	if err = p.expect("FROM"); err != nil {
		return err
	}
	if st.User, err = p.cloneName(); err != nil {
		return err
	}
	if !p.acceptPunct("@") {
		return p.fail()
	}
	if st.Host, err = p.cloneName(); err != nil {
		return err
	}
	if !p.acceptPunct(":") {
		return p.fail()
	}
	at := p.tok.pos
	port, err := p.uint()
	if err != nil || port == 0 || port > 65535 {
		return p.failAt(at)
	}
	st.Port = int(port)
	if err = p.expect("IDENTIFIED", "BY"); err != nil {
		return err
	}
	if st.Password, err = p.str(); err != nil {
		return err
	}
	for {
		switch {
		case st.DataDir == "" && p.accept("DATA"):
			if err := p.expect("DIRECTORY"); err != nil {
				return err
			}
			p.acceptPunct("=")
			at := p.tok.pos
			if st.DataDir, err = p.str(); err != nil {
				return err
			}
			if st.DataDir == "" {
				return p.failAt(at)
			}
		case st.RequireSSL == nil && p.accept("REQUIRE"):
			v := !p.accept("NO")
			if err := p.expect("SSL"); err != nil {
				return err
			}
			st.RequireSSL = &v
		default:
			return p.end()
		}
	}
}

// cloneName is a user or host name: quoted, or bare, where a bare host may be a dotted address
// or hold dashes (127.0.0.1, db-1.example): the tokens written together, as one name.
func (p *parser) cloneName() (string, error) {
	if p.bad {
		return "", p.fail()
	}
	switch p.tok.kind {
	case tString, tIdent:
		s := p.tok.text
		p.advance()
		return s, nil
	case tWord, tNumber:
	default:
		return "", p.fail()
	}
	start, end := p.tok.pos, p.tok.end
	for p.advance(); !p.bad && p.tok.pos == end && (p.tok.kind == tWord || p.tok.kind == tNumber ||
		p.tok.kind == tPunct && (p.tok.text == "." || p.tok.text == "-")); p.advance() {
		end = p.tok.end
	}
	return p.lx.q[start:end], nil
}

func (p *parser) cloneDonor() (Statement, error) {
	switch {
	case p.accept("BEGIN"):
		return &CloneDonorBegin{}, p.end()
	case p.accept("END"):
		st := &CloneDonorEnd{}
		at := p.tok.pos
		id, err := p.str1()
		if err != nil {
			return st, err
		}
		if !clonename.ID(id) {
			return st, p.failAt(at)
		}
		st.ID = id
		return st, p.end()
	case p.accept("READ"):
		st := &CloneDonorRead{}
		return st, p.cloneRead(st)
	}
	return nil, nil
}

func (p *parser) cloneRead(st *CloneDonorRead) error {
	at := p.tok.pos
	id, err := p.str1()
	if err != nil {
		return err
	}
	if !clonename.ID(id) {
		return p.failAt(at)
	}
	at = p.tok.pos
	file, err := p.str1()
	if err != nil {
		return err
	}
	if !clonename.Path(file) {
		return p.failAt(at)
	}
	st.ID, st.File = id, file
	for _, n := range []*int64{&st.Offset, &st.Length} {
		at = p.tok.pos
		v, err := p.uint()
		if err != nil {
			return err
		}
		if v > math.MaxInt64 {
			return p.failAt(at)
		}
		*n = int64(v)
	}
	return p.end()
}
