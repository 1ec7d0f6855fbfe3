package config

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "my.cnf")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) string { return "" }

func TestDefaults(t *testing.T) {
	o, err := Load("server", nil, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got %+v, want %+v", o, want)
	}
	if o.CacheSize != 256<<20 || o.MaxAllowedPacket != 64<<20 || o.Port != 3306 || o.Host != "127.0.0.1" {
		t.Fatalf("unexpected defaults %+v", o)
	}
}

func TestFlagsOverrideFileOverridesDefaults(t *testing.T) {
	p := writeFile(t, `
# a shared my.cnf
[mysqld]
port = 1111
unknown-to-us = fine here

[relaydb]
port = 3307            # trailing comment
server_id = 7
cache-size = 1GiB
log_level = DEBUG
datadir = "/tmp/with space"
root-password = 'a#b;c'
max_allowed_packet=16M
; comment
[client]
user = root
`)
	o, err := Load("server", []string{"--config", p, "--port", "4000"}, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Port != 4000 {
		t.Errorf("port: flag should win, got %d", o.Port)
	}
	if o.ServerID != 7 {
		t.Errorf("server id = %d", o.ServerID)
	}
	if o.CacheSize != 1<<30 {
		t.Errorf("cache size = %d", o.CacheSize)
	}
	if o.LogLevel != slog.LevelDebug {
		t.Errorf("log level = %v", o.LogLevel)
	}
	if o.DataDir != "/tmp/with space" {
		t.Errorf("datadir = %q", o.DataDir)
	}
	if o.RootPassword != "a#b;c" {
		t.Errorf("root password = %q", o.RootPassword)
	}
	if o.MaxAllowedPacket != 16<<20 {
		t.Errorf("max allowed packet = %d", o.MaxAllowedPacket)
	}
}

func TestUnknownKeyNamesLine(t *testing.T) {
	p := writeFile(t, "[relaydb]\nport = 3307\n\nbogus_option = 1\n")
	_, err := Load("server", []string{"--config", p}, noEnv, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), p+":4") || !strings.Contains(err.Error(), "bogus-option") {
		t.Fatalf("want error naming line 4 and the key, got %v", err)
	}
}

func TestFileErrors(t *testing.T) {
	cases := map[string]string{
		"before section": "port = 1\n[relaydb]\n",
		"include":        "!include /etc/other.cnf\n",
		"bare non-bool":  "[relaydb]\nport\n",
		"bad value":      "[relaydb]\nport = abc\n",
		"bad header":     "[relaydb\n",
		"unterminated":   "[relaydb]\ndatadir = \"abc\n",
		"config in file": "[relaydb]\nconfig = other.cnf\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, body)
			_, err := Load("server", []string{"--config", p}, noEnv, &bytes.Buffer{})
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.Contains(err.Error(), p+":") {
				t.Fatalf("error should name the file and line: %v", err)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load("server", []string{"--config", filepath.Join(t.TempDir(), "nope.cnf")}, noEnv, &bytes.Buffer{})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestRootPasswordEnvAndLoopbackRule(t *testing.T) {
	env := func(k string) string {
		if k == EnvRootPassword {
			return "fromenv"
		}
		return ""
	}
	o, err := Load("server", []string{"--host", "0.0.0.0"}, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.RootPassword != "fromenv" {
		t.Fatalf("root password = %q", o.RootPassword)
	}
	o, err = Load("server", []string{"--host", "0.0.0.0", "--root-password", "flag"}, env, &bytes.Buffer{})
	if err != nil || o.RootPassword != "flag" {
		t.Fatalf("flag should win over env: %q %v", o.RootPassword, err)
	}
	// Env wins over the file.
	p := writeFile(t, "[relaydb]\nroot-password = file\n")
	o, err = Load("server", []string{"--config", p}, env, &bytes.Buffer{})
	if err != nil || o.RootPassword != "fromenv" {
		t.Fatalf("env should win over file: %q %v", o.RootPassword, err)
	}

	for _, host := range []string{"0.0.0.0", "::", "192.0.2.1", "example.com"} {
		_, err := Load("server", []string{"--host", host}, noEnv, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "empty root password") {
			t.Errorf("host %q with empty password: got %v", host, err)
		}
	}
	for _, host := range []string{"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"} {
		if _, err := Load("server", []string{"--host", host}, noEnv, &bytes.Buffer{}); err != nil {
			t.Errorf("host %q: %v", host, err)
		}
	}
}

func TestPprofLoopbackOnly(t *testing.T) {
	if _, err := Load("server", []string{"--pprof-addr", "127.0.0.1:6060"}, noEnv, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "6060"} {
		if _, err := Load("server", []string{"--pprof-addr", addr}, noEnv, &bytes.Buffer{}); err == nil {
			t.Errorf("pprof addr %q accepted", addr)
		}
	}
}

func TestHelpListsEveryVisibleOption(t *testing.T) {
	var out bytes.Buffer
	_, err := Load("relaydb server", []string{"--help"}, noEnv, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v", err)
	}
	help := out.String()
	for _, name := range Names() {
		if name == "storage" || name == "dial-override" || name == "unsafe-no-fence" {
			if strings.Contains(help, "--"+name) {
				t.Errorf("hidden option shown in help")
			}
			continue
		}
		if !strings.Contains(help, "--"+name) {
			t.Errorf("help lacks --%s:\n%s", name, help)
		}
	}
	if !strings.Contains(help, "--config") {
		t.Error("help lacks --config")
	}
}

func TestInvalidFlags(t *testing.T) {
	bad := [][]string{
		{"--port", "70000"},
		{"--log-level", "loud"},
		{"--cache-size", "lots"},
		{"--cache-size", "10"},
		{"--max-allowed-packet", "2GiB"},
		{"--server-id", "-1"},
		{"--storage", "disk"},
		{"--ssl-cert", "c.pem"},
		{"--ssl-key", "k.pem"},
		{"--skip-ssl", "--ssl-ca", "ca.pem"},
		{"--relay-log", ""},
		{"--relay-log", "/var/lib/relay/"},
		{"--relay-log", "binlog"},
		{"--max-relay-log-size", "1KiB"},
		{"--datadir", "/d", "--relay-log", "/d/binlog"},
		{"extra"},
	}
	for _, args := range bad {
		if _, err := Load("server", args, noEnv, &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestTLSAndRelayLogFlags(t *testing.T) {
	o, err := Load("server", []string{"--ssl-cert", "c.pem", "--ssl-key", "k.pem", "--ssl-ca", "ca.pem", "--relay-log", "/mnt/relay/r", "--max-relay-log-size", "64KiB"}, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.SSLCert != "c.pem" || o.SSLKey != "k.pem" || o.SSLCA != "ca.pem" || o.SkipSSL || o.RelayLog != "/mnt/relay/r" || o.MaxRelayLogSize != 64<<10 {
		t.Fatalf("got %+v", o)
	}
	if o, err = Load("server", []string{"--skip-ssl"}, noEnv, &bytes.Buffer{}); err != nil || !o.SkipSSL || o.RelayLog != "relay-bin" {
		t.Fatalf("--skip-ssl: %+v, %v", o, err)
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]Size{
		"0":       0,
		"1048576": 1 << 20,
		"64M":     64 << 20,
		"64m":     64 << 20,
		"256MiB":  256 << 20,
		"1GiB":    1 << 30,
		"1 GiB":   1 << 30,
		"1.5GiB":  3 << 29,
		"100MB":   100e6,
		"2k":      2048,
		"10B":     10,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "abc", "1XB", "99999999999TiB", "NaN"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
	if s := Size(256 << 20); s.Format() != "256MiB" {
		t.Errorf("format = %s", s.Format())
	}
	if s := Size(1000); s.Format() != "1000" {
		t.Errorf("format = %s", s.Format())
	}
}

func TestReplicaFilterOptions(t *testing.T) {
	o, err := Load("server", []string{"--replicate-do-db=shop", "--replicate-do-db", "crm",
		"--replicate-wild-ignore-table=shop.tmp%", "--replicate-rewrite-db=a->b"}, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"REPLICATE_DO_DB":             {"shop", "crm"},
		"REPLICATE_WILD_IGNORE_TABLE": {"shop.tmp%"},
		"REPLICATE_REWRITE_DB":        {"a->b"},
	}
	if got := o.ReplicaFilters(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
	for _, bad := range [][]string{{"--replicate-do-table=noDot"}, {"--replicate-rewrite-db=a"}, {"--replicate-wild-do-table=x%"}} {
		_, err := Load("server", bad, noEnv, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), strings.SplitN(bad[0], "=", 2)[0]) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
