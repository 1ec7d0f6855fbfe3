// Package cluster is RelayDB's fault-injection harness: it starts nodes as OS processes, puts a
// proxy on every link between them, breaks processes and links on a seeded schedule, records
// what clients asked and were told, and checks the record. Tests and benchmarks import it; it
// depends on nothing in the server but the process contract below.
//
// The contract with a node: it is an OS process started with arguments the caller gives
// (relaydb server …, relaydb arbiter …), it prints a known line when it serves (ProcessConfig.
// ReadyLine), and it accepts --dial-override FROM=TO[,…], dialling TO whenever it would
// open a TCP connection to FROM. Net.Link hands out the TO addresses and Net.DialOverride
// writes the flag's value.
//
// The parts, each usable alone:
//
//   - Process: start, wait for the ready line, Kill (SIGKILL), Stop/Cont (SIGSTOP/SIGCONT),
//     Terminate (SIGTERM, then kill), Restart; output appended to a log file.
//   - Net: loopback TCP proxies, one per (from node, to node, target address), with faults
//     over directed node pairs: Cut (black hole both ways), CutOneWay, Reject (reset),
//     Delay, Isolate, Partition, and Heal.
//   - Nemesis: one fault at a time from a caller's list, chosen and timed by a seeded source.
//   - Recorder: a Jepsen-style history (invoke, then ok, fail or info) of client operations and
//     nemesis events.
//   - Checkers, pure functions from a history to violations: CheckRegisters (linearizable
//     read/write/cas registers, with porcupine), CheckBank, CheckEpochs (split brain),
//     CheckUniqueIDs.
//
// Invariants:
//
//   - Every process started is killed and every proxy listener and connection closed when the
//     test ends: both register with the TB's Cleanup (a Scope outside tests, whose Close the
//     program defers). Processes run in their own process group, which every signal reaches,
//     and on Linux die with the harness's process.
//   - A fault is undone by the function that made it or by Net.Heal; a connection that lost
//     bytes to a cut is closed when the cut ends, never resumed with a hole in its stream.
//   - A nemesis run is reproducible from its seed, which it logs: the faults, their order, their
//     durations and the victims the faults draw from the source it passes them. Timing on the
//     machine still varies, so the system's response may not.
//   - Checkers never sleep or touch the network: they are tested on synthetic histories, each
//     shown to pass a valid one and to catch a planted bug.
//   - Nothing here calls t.Fatal: functions return errors, so benchmarks and programs can use
//     the package too.
package cluster
