package adminsql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dolthub/vitess/go/mysql"
)

// ValueKind is the type of an option's value, as MySQL's grammar has it.
type ValueKind uint8

const (
	String       ValueKind = iota + 1 // 'text'
	StringOrNull                      // 'text' or NULL
	Uint                              // an unsigned integer
	Bool                              // 0 or 1
	Decimal                           // an unsigned decimal number (seconds)
	IDList                            // a parenthesised list of unsigned integers, possibly empty
	Word                              // one of OptionSpec.Words, unquoted
	WordOrString                      // one of OptionSpec.Words, or 'text'
	Account                           // 'user'@'host', or NULL
)

// OptionSpec describes one option of CHANGE REPLICATION SOURCE TO.
type OptionSpec struct {
	Name   string // MySQL 8.0.23+ spelling; the canonical name in Option.Name
	Legacy string // the spelling before 8.0.23 (MASTER_…); "" when there is none
	Kind   ValueKind
	Words  []string // Word, WordOrString: the accepted words, upper case
	// Max, when set, is the largest value MySQL accepts (Uint, Decimal); tooLarge gives its error.
	Max      float64
	tooLarge func(o Option) error
}

// sourceOptions are the options of CHANGE REPLICATION SOURCE TO / CHANGE MASTER TO: MySQL 8's,
// then MariaDB's. Adding an option is one line here; whether the server honours it is
// replica.Config.Apply's business (it refuses the ones it does not know with ER_WRONG_ARGUMENTS).
var sourceOptions = []OptionSpec{
	{Name: "SOURCE_BIND", Legacy: "MASTER_BIND", Kind: String},
	{Name: "SOURCE_HOST", Legacy: "MASTER_HOST", Kind: String},
	{Name: "SOURCE_USER", Legacy: "MASTER_USER", Kind: String},
	{Name: "SOURCE_PASSWORD", Legacy: "MASTER_PASSWORD", Kind: String},
	{Name: "SOURCE_PORT", Legacy: "MASTER_PORT", Kind: Uint},
	{Name: "PRIVILEGE_CHECKS_USER", Kind: Account},
	{Name: "REQUIRE_ROW_FORMAT", Kind: Bool},
	{Name: "REQUIRE_TABLE_PRIMARY_KEY_CHECK", Kind: Word, Words: []string{"STREAM", "ON", "OFF", "GENERATE"}},
	{Name: "ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS", Kind: WordOrString, Words: []string{"OFF", "LOCAL"}},
	{Name: "SOURCE_LOG_FILE", Legacy: "MASTER_LOG_FILE", Kind: String},
	{Name: "SOURCE_LOG_POS", Legacy: "MASTER_LOG_POS", Kind: Uint},
	{Name: "SOURCE_AUTO_POSITION", Legacy: "MASTER_AUTO_POSITION", Kind: Bool},
	{Name: "RELAY_LOG_FILE", Kind: String},
	{Name: "RELAY_LOG_POS", Kind: Uint},
	{Name: "SOURCE_HEARTBEAT_PERIOD", Legacy: "MASTER_HEARTBEAT_PERIOD", Kind: Decimal, Max: maxHeartbeat, tooLarge: heartbeatTooLarge},
	{Name: "SOURCE_CONNECT_RETRY", Legacy: "MASTER_CONNECT_RETRY", Kind: Uint},
	{Name: "SOURCE_RETRY_COUNT", Legacy: "MASTER_RETRY_COUNT", Kind: Uint},
	{Name: "SOURCE_CONNECTION_AUTO_FAILOVER", Kind: Bool},
	{Name: "SOURCE_DELAY", Legacy: "MASTER_DELAY", Kind: Uint, Max: maxDelay, tooLarge: delayTooLarge},
	{Name: "SOURCE_COMPRESSION_ALGORITHMS", Legacy: "MASTER_COMPRESSION_ALGORITHMS", Kind: String},
	{Name: "SOURCE_ZSTD_COMPRESSION_LEVEL", Legacy: "MASTER_ZSTD_COMPRESSION_LEVEL", Kind: Uint},
	{Name: "SOURCE_SSL", Legacy: "MASTER_SSL", Kind: Bool},
	{Name: "SOURCE_SSL_CA", Legacy: "MASTER_SSL_CA", Kind: String},
	{Name: "SOURCE_SSL_CAPATH", Legacy: "MASTER_SSL_CAPATH", Kind: String},
	{Name: "SOURCE_SSL_CERT", Legacy: "MASTER_SSL_CERT", Kind: String},
	{Name: "SOURCE_SSL_CRL", Legacy: "MASTER_SSL_CRL", Kind: String},
	{Name: "SOURCE_SSL_CRLPATH", Legacy: "MASTER_SSL_CRLPATH", Kind: String},
	{Name: "SOURCE_SSL_KEY", Legacy: "MASTER_SSL_KEY", Kind: String},
	{Name: "SOURCE_SSL_CIPHER", Legacy: "MASTER_SSL_CIPHER", Kind: String},
	{Name: "SOURCE_SSL_VERIFY_SERVER_CERT", Legacy: "MASTER_SSL_VERIFY_SERVER_CERT", Kind: Bool},
	{Name: "SOURCE_TLS_VERSION", Legacy: "MASTER_TLS_VERSION", Kind: String},
	{Name: "SOURCE_TLS_CIPHERSUITES", Legacy: "MASTER_TLS_CIPHERSUITES", Kind: StringOrNull},
	{Name: "SOURCE_PUBLIC_KEY_PATH", Legacy: "MASTER_PUBLIC_KEY_PATH", Kind: String},
	{Name: "GET_SOURCE_PUBLIC_KEY", Legacy: "GET_MASTER_PUBLIC_KEY", Kind: Bool},
	{Name: "NETWORK_NAMESPACE", Kind: String},
	{Name: "IGNORE_SERVER_IDS", Kind: IDList},
	{Name: "GTID_ONLY", Kind: Bool},
	// MariaDB's.
	{Name: "MASTER_USE_GTID", Kind: Word, Words: []string{"CURRENT_POS", "SLAVE_POS", "NO"}},
	{Name: "MASTER_DEMOTE_TO_SLAVE", Kind: Bool},
	{Name: "DO_DOMAIN_IDS", Kind: IDList},
	{Name: "IGNORE_DOMAIN_IDS", Kind: IDList},
}

const (
	maxHeartbeat = 4294967    // seconds: MySQL's SLAVE_MAX_HEARTBEAT_PERIOD
	maxDelay     = 2147483647 // seconds: MySQL's MASTER_DELAY_MAX
)

func heartbeatTooLarge(Option) error {
	return mysql.NewSQLError(ERReplicaHeartbeatOutOfRange, "HY000",
		"The requested value for the heartbeat period is either negative or exceeds the maximum allowed (%d seconds).", maxHeartbeat)
}

func delayTooLarge(o Option) error {
	return mysql.NewSQLError(ERSourceDelayOutOfRange, "HY000",
		"The requested value %d for the source delay exceeds the maximum %d", o.Num, maxDelay)
}

// optionByName finds an option under either spelling (upper case).
var optionByName = func() map[string]*OptionSpec {
	m := map[string]*OptionSpec{}
	for i := range sourceOptions {
		s := &sourceOptions[i]
		m[s.Name] = s
		if s.Legacy != "" {
			m[s.Legacy] = s
		}
	}
	return m
}()

// Option is one option of CHANGE REPLICATION SOURCE TO with its typed value.
type Option struct {
	Name string // canonical (OptionSpec.Name), whichever spelling was written
	Kind ValueKind
	Null bool     // NULL (StringOrNull, Account)
	Str  string   // String, StringOrNull, Word (upper case), WordOrString, Account's user
	Host string   // Account's host
	Word bool     // WordOrString: Str is one of the words, not a string
	Num  uint64   // Uint, Bool
	Dec  float64  // Decimal
	IDs  []uint64 // IDList
}

// Value is the value as text: unquoted strings and words, decimal numbers, "NULL", IDs joined
// by commas (the form replica.Config.Apply takes).
func (o Option) Value() string {
	switch {
	case o.Null:
		return "NULL"
	case o.Kind == Uint || o.Kind == Bool:
		return strconv.FormatUint(o.Num, 10)
	case o.Kind == Decimal:
		return strconv.FormatFloat(o.Dec, 'f', -1, 64)
	case o.Kind == IDList:
		s := make([]string, len(o.IDs))
		for i, id := range o.IDs {
			s[i] = strconv.FormatUint(id, 10)
		}
		return strings.Join(s, ",")
	case o.Kind == Account:
		return o.Str + "@" + o.Host
	}
	return o.Str
}

// String prints the option as MySQL's syntax.
func (o Option) String() string {
	v := ""
	switch {
	case o.Null:
		v = "NULL"
	case o.Kind == String || o.Kind == StringOrNull || o.Kind == WordOrString && !o.Word:
		v = quoteString(o.Str)
	case o.Kind == IDList:
		v = "(" + o.Value() + ")"
	case o.Kind == Account:
		v = quoteString(o.Str) + "@" + quoteString(o.Host)
	default:
		v = o.Value()
	}
	return fmt.Sprintf("%s = %s", o.Name, v)
}

// option reads NAME = value.
func (p *parser) option(specs map[string]*OptionSpec) (Option, error) {
	if p.tok.kind != tWord {
		return Option{}, p.fail()
	}
	spec := specs[strings.ToUpper(p.tok.text)]
	if spec == nil {
		return Option{}, p.fail()
	}
	p.advance()
	if !p.acceptPunct("=") {
		return Option{}, p.fail()
	}
	o := Option{Name: spec.Name, Kind: spec.Kind}
	var err error
	switch spec.Kind {
	case String:
		o.Str, err = p.str()
	case StringOrNull:
		if o.Null = p.accept("NULL"); !o.Null {
			o.Str, err = p.str()
		}
	case Uint:
		o.Num, err = p.uint()
		if err == nil && spec.Max > 0 && float64(o.Num) > spec.Max {
			return o, spec.tooLarge(o)
		}
	case Bool:
		if o.Num, err = p.uint(); err == nil && o.Num > 1 {
			return o, wrongArguments("CHANGE REPLICATION SOURCE", fmt.Sprintf("%s: \"%d\" is not 0 or 1", spec.Name, o.Num))
		}
	case Decimal:
		o.Dec, err = p.decimal()
		if err == nil && spec.Max > 0 && o.Dec > spec.Max {
			return o, spec.tooLarge(o)
		}
	case IDList:
		o.IDs, err = p.idList()
	case Word, WordOrString:
		if p.tok.kind == tWord {
			w := strings.ToUpper(p.tok.text)
			for _, allowed := range spec.Words {
				if w == allowed {
					o.Str, o.Word = w, true
					p.advance()
					return o, nil
				}
			}
		}
		if spec.Kind == Word {
			return o, p.fail()
		}
		o.Str, err = p.str()
	case Account:
		if o.Null = p.accept("NULL"); !o.Null {
			o.Str, o.Host, err = p.account()
		}
	}
	return o, err
}
