package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a child started in its own process group, so that it and
// everything it spawns (Mattermost's plugin processes) can be signalled as one.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has been waited for
	err  error         // Wait's result, valid after done
}

// startProcess starts cmd as the leader of a new process group. deathSig is
// what the kernel sends it if the test process dies (panic, timeout, ^C), so
// that it never outlives the test bound to its port.
func startProcess(cmd *exec.Cmd, deathSig syscall.Signal) (*process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace for a clean exit, then kills the
// whole process group. Plugin processes are re-parented when the server exits
// and may outlive it, so the group is swept even after a clean exit.
func (p *process) stop(grace time.Duration) error {
	pgid := p.cmd.Process.Pid
	var errs []error
	if !p.exited() {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("signal SIGTERM: %w", err))
		}
		select {
		case <-p.done:
		case <-time.After(grace):
			errs = append(errs, fmt.Errorf("no exit within %s of SIGTERM; killed", grace))
		}
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		errs = append(errs, fmt.Errorf("kill process group %d: %w", pgid, err))
	}
	<-p.done
	// A process can linger as a zombie until its new parent reaps it, and
	// kill(pid, 0) succeeds on zombies; only the /proc state tells a process
	// that still runs from one that is merely unreaped.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var live []int
	if err := poll(ctx, pollInterval, func() (bool, error) {
		live = liveGroupMembers(pgid)
		return len(live) == 0, nil
	}); err != nil {
		errs = append(errs, fmt.Errorf("processes %v of group %d still running after SIGKILL: %w", live, pgid, err))
	}
	return errors.Join(errs...)
}

// liveGroupMembers lists the pids in process group pgid that are not zombies.
func liveGroupMembers(pgid int) []int {
	return processes(func(pid int) bool {
		state, group, ok := procStat(pid)
		return ok && group == pgid && state != 'Z' && state != 'X'
	})
}

// processes lists the pids of /proc for which keep is true.
func processes(keep func(pid int) bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && keep(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procStat reads the state and process group of pid from /proc/<pid>/stat.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	fields := procStatFields(pid)
	if len(fields) < 3 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err := strconv.Atoi(fields[2])
	if err != nil {
		return 0, 0, false
	}
	return fields[0][0], pgrp, true
}

// procStartTime returns when pid started (clock ticks since boot), which
// tells a process from a later one that reused its pid; "" if pid is gone.
func procStartTime(pid int) string {
	fields := procStatFields(pid)
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}

// procStatFields returns the fields of /proc/<pid>/stat after the command
// name, which is parenthesised and may itself contain spaces and
// parentheses: fields are counted from the last ')'. The first is the state.
func procStatFields(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}
