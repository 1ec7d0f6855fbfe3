package replica

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// Config is what CHANGE REPLICATION SOURCE TO sets (MySQL's master.info).
type Config struct {
	Host         string  `json:"host"`
	Port         int     `json:"port"`
	User         string  `json:"user"`
	Password     string  `json:"password"`
	AutoPosition bool    `json:"auto_position"`
	LogFile      string  `json:"log_file,omitempty"`
	LogPos       uint64  `json:"log_pos,omitempty"`
	ConnectRetry int     `json:"connect_retry"` // seconds between connection attempts
	RetryCount   int     `json:"retry_count"`   // attempts before the receiver gives up
	Heartbeat    float64 `json:"heartbeat_period"`
	Delay        int     `json:"delay"`
	TLS          TLS     `json:"tls"`
	// Running records which threads were running, to restart them with the server.
	IORunning  bool `json:"io_running"`
	SQLRunning bool `json:"sql_running"`
}

// configFile holds the default channel's settings; a named channel's are in
// replica-<channel>.json.
const configFile = "replica.json"

func configFileFor(channel string) string {
	if channel == "" {
		return configFile
	}
	return "replica-" + channel + ".json"
}

func defaultConfig() Config {
	return Config{Port: 3306, ConnectRetry: 60, RetryCount: 86400, Heartbeat: 30}
}

func loadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := defaultConfig()
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return &c, nil
}

func saveConfig(path string, c *Config) error {
	if c == nil {
		err := os.Remove(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, b, 0o600)
}

// Apply sets the options of a CHANGE REPLICATION SOURCE TO statement (names in upper case,
// SOURCE_ or MASTER_ prefix, values as written: strings unquoted).
func (c *Config) Apply(opts map[string]string) error {
	for name, v := range opts {
		key := strings.TrimPrefix(strings.TrimPrefix(name, "SOURCE_"), "MASTER_")
		var err error
		switch key {
		case "HOST":
			c.Host = v
		case "USER":
			c.User = v
		case "PASSWORD":
			c.Password = v
		case "LOG_FILE":
			c.LogFile = v
		case "AUTO_POSITION":
			c.AutoPosition = v == "1"
		case "PORT":
			err = setInt(&c.Port, name, v, 0, 65535)
		case "LOG_POS":
			var n int
			err = setInt(&n, name, v, 0, 1<<62)
			c.LogPos = uint64(n)
		case "CONNECT_RETRY":
			err = setInt(&c.ConnectRetry, name, v, 0, 31536000)
		case "RETRY_COUNT":
			err = setInt(&c.RetryCount, name, v, 0, 1<<31)
		case "DELAY":
			err = setInt(&c.Delay, name, v, 0, 68*365*86400)
		case "HEARTBEAT_PERIOD":
			if c.Heartbeat, err = strconv.ParseFloat(v, 64); err != nil {
				err = fmt.Errorf("%s: %q is not a number", name, v)
			}
		case "SSL":
			err = setBool(&c.TLS.Enabled, name, v)
		case "SSL_VERIFY_SERVER_CERT":
			err = setBool(&c.TLS.VerifyServerCert, name, v)
		case "SSL_CA":
			c.TLS.CA = v
		case "SSL_CAPATH":
			c.TLS.CAPath = v
		case "SSL_CERT":
			c.TLS.Cert = v
		case "SSL_KEY":
			c.TLS.Key = v
		case "SSL_CIPHER":
			c.TLS.Cipher = v
		case "SSL_CRL":
			c.TLS.CRL = v
		case "SSL_CRLPATH":
			c.TLS.CRLPath = v
		default:
			return fmt.Errorf("unknown option %s", name)
		}
		if err != nil {
			return err
		}
	}
	return c.TLS.check()
}

// setBool parses a 0/1 option value.
func setBool(dst *bool, name, v string) error {
	switch v {
	case "0":
		*dst = false
	case "1":
		*dst = true
	default:
		return fmt.Errorf("%s: %q is not 0 or 1", name, v)
	}
	return nil
}

// setInt parses an integer option value within lo..hi.
func setInt(dst *int, name, v string, lo, hi int64) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("%s: %q is not a number from %d to %d", name, v, lo, hi)
	}
	*dst = int(n)
	return nil
}
