package cluster

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
)

// BuildRelayDB builds cmd/relaydb of the module this package is part of into dir and returns
// the binary's path (about 90 MB; the caller removes dir). race builds it with the race
// detector. The caller builds once per process and passes the path to every node.
func BuildRelayDB(dir string, race bool) (string, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("build relaydb: cannot locate the source tree")
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(self))) // test/cluster/build.go → module root
	bin := filepath.Join(dir, "relaydb")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/relaydb")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build relaydb: %v\n%s", err, out)
	}
	return bin, nil
}
