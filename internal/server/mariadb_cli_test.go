package server

import (
	"context"
	osexec "os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mariadbCLI runs the mariadb command-line client against the node and
// returns its combined output. The test is skipped where the client is not
// installed (.ci/run installs mariadb-client).
func mariadbCLI(t *testing.T, tn *testNode, extra []string, user, pass, query string) (string, error) {
	t.Helper()
	bin, err := osexec.LookPath("mariadb")
	if err != nil {
		t.Skip("mariadb client not installed")
	}
	_, port, _ := strings.Cut(tn.Addr().String(), ":")
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatal(tn.Addr())
	}
	args := append([]string{"--no-defaults", "-h127.0.0.1", "-P" + port, "-u" + user, "-p" + pass,
		"--connect-timeout=5", "-N", "-B", "-e", query}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := osexec.CommandContext(ctx, bin, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestMariadbClientLogins(t *testing.T) {
	tn := startNode(t, t.TempDir())
	out, err := mariadbCLI(t, tn, nil, "root", "rootpw", "SELECT CURRENT_USER(), @@version")
	if err != nil || out != "root@localhost\t8.0.36-relaydb" {
		t.Fatalf("root: %v\n%s", err, out)
	}
	out, err = mariadbCLI(t, tn, nil, "root", "bad", "SELECT 1")
	if err == nil || !strings.Contains(out, "ERROR 1045") {
		t.Fatalf("wrong password: %v\n%s", err, out)
	}
	root := tn.mustConnect(t, "root", "rootpw")
	exec2 := func(s string) { exec(t, root, s) }
	exec2("CREATE USER 'nat'@'%' IDENTIFIED WITH mysql_native_password BY 'n1'")
	exec2("CREATE USER 'sha'@'%' IDENTIFIED WITH caching_sha2_password BY 's1'")

	for _, ssl := range [][]string{{"--ssl"}, {"--skip-ssl"}} {
		out, err = mariadbCLI(t, tn, ssl, "nat", "n1", "SELECT CURRENT_USER()")
		if err != nil || out != "nat@%" {
			t.Fatalf("native %v: %v\n%s", ssl, err, out)
		}
	}
	// caching_sha2_password: the client uses TLS when the server offers it,
	// so the first (full) authentication works; afterwards the fast-auth
	// cache also serves a client that refuses TLS.
	out, err = mariadbCLI(t, tn, nil, "sha", "s1", "SELECT CURRENT_USER()")
	if err != nil || out != "sha@%" {
		t.Fatalf("caching_sha2 first login: %v\n%s", err, out)
	}
	out, err = mariadbCLI(t, tn, []string{"--skip-ssl"}, "sha", "s1", "SELECT CURRENT_USER()")
	if err != nil || out != "sha@%" {
		t.Fatalf("caching_sha2 without TLS, warm cache: %v\n%s", err, out)
	}
	out, err = mariadbCLI(t, tn, nil, "sha", "nope", "SELECT 1")
	if err == nil || !strings.Contains(out, "ERROR 1045") {
		t.Fatalf("caching_sha2 wrong password: %v\n%s", err, out)
	}
	// The CLI sends statements with CLIENT_MULTI_STATEMENTS; syntax errors
	// are still 1064.
	out, err = mariadbCLI(t, tn, nil, "root", "rootpw", "SELEC 1")
	if err == nil || !strings.Contains(out, "ERROR 1064 (42000)") || !strings.Contains(out, "near 'SELEC 1' at line 1") {
		t.Fatalf("syntax error: %v\n%s", err, out)
	}
}
