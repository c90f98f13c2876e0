// Package pgcluster finds or starts a private PostgreSQL cluster in a project
// folder, with the system's initdb and pg_ctl, so that `make run` and
// `make test` never depend on a database someone else happened to start.
//
// The cluster listens on 127.0.0.1 only, on a free port, with a generated
// password; its data stays in place between runs. When the process runs as
// root (as CI does), the server binaries run as the unprivileged "postgres"
// system user, since initdb and postgres refuse to run as root.
package pgcluster

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// InstallHint is the one line that tells a user what to install.
const InstallHint = "PostgreSQL server binaries (initdb, pg_ctl) not found: install them with `sudo apt-get install -y postgresql` (Debian/Ubuntu), or set DATABASE_URL to an existing database"

// ErrNoBinaries means initdb/pg_ctl could not be found (and not installed).
var ErrNoBinaries = errors.New(InstallHint)

const superuser = "passerelle"

// Options tunes a cluster.
type Options struct {
	// Dir is the project folder that holds the cluster (e.g. .data/postgres).
	Dir string
	// Install allows installing the server binaries with apt-get when they are
	// missing and the process runs as root.
	Install bool
	// Throwaway trades durability for speed (fsync off): for test clusters.
	Throwaway bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Cluster is a running private cluster.
type Cluster struct {
	Dir      string // the folder actually used (may differ from Options.Dir when root cannot share it)
	Port     int
	Password string
	// Started is true when this call started the server (false: it was already running).
	Started bool

	bin   string
	runAs string
}

// URL returns the connection URL for database name on this cluster.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, c.Password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Ensure returns the running cluster in opts.Dir, creating and starting it
// when needed. Concurrent callers (parallel test binaries) are serialised by
// a file lock, so exactly one of them initialises or starts the server.
func Ensure(ctx context.Context, opts Options) (*Cluster, error) {
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	c, err := open(ctx, opts, logw)
	if err != nil {
		return nil, err
	}
	unlock, err := lock(c.Dir + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()

	if _, err := os.Stat(filepath.Join(c.pgdata(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(logw, "Creating a private PostgreSQL cluster in %s…\n", c.Dir)
		if err := c.initdb(ctx, opts.Throwaway); err != nil {
			return nil, err
		}
	}
	pw, err := os.ReadFile(filepath.Join(c.Dir, "password"))
	if err != nil {
		return nil, fmt.Errorf("pgcluster: read password: %w", err)
	}
	c.Password = strings.TrimSpace(string(pw))

	if port, ok := c.runningPort(ctx); ok {
		c.Port = port
		return c, nil
	}
	fmt.Fprintf(logw, "Starting PostgreSQL from %s…\n", c.Dir)
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	c.Started = true
	return c, nil
}

// open resolves the binaries and the folder of a cluster without touching it.
func open(ctx context.Context, opts Options, logw io.Writer) (*Cluster, error) {
	bin, err := findBinaries()
	if errors.Is(err, ErrNoBinaries) && opts.Install && canInstall() {
		fmt.Fprintln(logw, "PostgreSQL server binaries missing: installing them with apt-get (postgresql)…")
		if ierr := install(ctx, logw); ierr != nil {
			return nil, fmt.Errorf("pgcluster: install postgresql: %w (%s)", ierr, InstallHint)
		}
		bin, err = findBinaries()
	}
	if err != nil {
		return nil, err
	}

	abs, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c := &Cluster{Dir: abs, bin: bin}
	if os.Geteuid() == 0 {
		c.runAs, err = systemUser(ctx)
		if err != nil {
			return nil, err
		}
		if c.Dir, err = rootDir(ctx, abs, c.runAs); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	return c, nil
}

// Stop shuts the cluster down (fast mode: open sessions are ended).
func (c *Cluster) Stop(ctx context.Context) error {
	out, err := c.cmd(ctx, "pg_ctl", "-D", c.pgdata(), "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: pg_ctl stop: %w: %s", err, out)
	}
	return nil
}

// StopDir stops the cluster kept in dir if one runs there.
func StopDir(ctx context.Context, dir string) error {
	c, err := open(ctx, Options{Dir: dir}, io.Discard)
	if err != nil {
		return err
	}
	if _, running := c.runningPort(ctx); !running {
		return nil
	}
	return c.Stop(ctx)
}

func (c *Cluster) pgdata() string { return filepath.Join(c.Dir, "pgdata") }

func (c *Cluster) initdb(ctx context.Context, throwaway bool) error {
	if err := os.RemoveAll(c.pgdata()); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	pwFile := filepath.Join(c.Dir, "password")
	if err := os.WriteFile(pwFile, []byte(randomHex(24)+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := c.chown(pwFile); err != nil {
		return err
	}
	out, err := c.cmd(ctx, "initdb", "-D", c.pgdata(), "-U", superuser, "--pwfile="+pwFile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--no-locale").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: initdb: %w: %s", err, out)
	}
	conf := []string{
		"# Written by Passerelle's pgcluster: a private cluster for one project folder.",
		"listen_addresses = '127.0.0.1'",
		"unix_socket_directories = ''",
		"max_connections = 200",
		"shared_buffers = '256MB'",
		"logging_collector = off",
	}
	if throwaway {
		conf = append(conf, "fsync = off", "synchronous_commit = off", "full_page_writes = off")
	}
	f, err := os.OpenFile(filepath.Join(c.pgdata(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer f.Close()
	_, err = f.WriteString("\n" + strings.Join(conf, "\n") + "\n")
	return err
}

func (c *Cluster) start(ctx context.Context) error {
	// Come back on the previous port when it is free, so URLs held by
	// running clients (a server's pool) work again after a restart.
	portFile := filepath.Join(c.Dir, "port")
	port := 0
	if b, err := os.ReadFile(portFile); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && portFree(p) {
			port = p
		}
	}
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		port = p
	}
	if err := os.WriteFile(portFile, []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	logFile := filepath.Join(c.Dir, "postgres.log")
	out, err := c.cmd(ctx, "pg_ctl", "-D", c.pgdata(), "-l", logFile, "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d", port), "start").CombinedOutput()
	if err != nil {
		tail, _ := os.ReadFile(logFile)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("pgcluster: pg_ctl start: %w: %s\n%s", err, out, tail)
	}
	c.Port = port
	return nil
}

// runningPort reports the port of a live server on this data folder.
func (c *Cluster) runningPort(ctx context.Context) (int, bool) {
	if err := c.cmd(ctx, "pg_ctl", "-D", c.pgdata(), "status").Run(); err != nil {
		return 0, false
	}
	f, err := os.Open(filepath.Join(c.pgdata(), "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	// postmaster.pid: pid, data dir, start time, port, ...
	s := bufio.NewScanner(f)
	for i := 1; s.Scan(); i++ {
		if i == 4 {
			port, err := strconv.Atoi(strings.TrimSpace(s.Text()))
			return port, err == nil
		}
	}
	return 0, false
}

func (c *Cluster) cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.Dir
	// Keep the server alive after this process ends (Ctrl-C of make run
	// must not kill it mid-write): its own process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	return cmd
}

func (c *Cluster) chown(path string) error {
	if c.runAs == "" {
		return nil
	}
	u, err := user.Lookup(c.runAs)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(path, uid, gid)
}

// rootDir prepares dir for the unprivileged server user. When that user
// cannot reach dir (a project under /root, say), the cluster lives under
// /var/tmp at a name derived from dir, so every run finds the same one.
func rootDir(ctx context.Context, dir, runAs string) (string, error) {
	u, err := user.Lookup(runAs)
	if err != nil {
		return "", fmt.Errorf("pgcluster: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	try := func(d string) bool {
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			return false
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return false
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return false
		}
		return exec.CommandContext(ctx, "runuser", "-u", runAs, "--", "test", "-w", d, "-a", "-x", d).Run() == nil
	}
	if try(dir) {
		return dir, nil
	}
	sum := sha256.Sum256([]byte(dir))
	alt := filepath.Join("/var/tmp", "passerelle-pg-"+hex.EncodeToString(sum[:6]))
	if try(alt) {
		return alt, nil
	}
	return "", fmt.Errorf("pgcluster: user %q can write neither %s nor %s", runAs, dir, alt)
}

// systemUser returns the unprivileged user that runs the server when we are
// root, creating the conventional "postgres" system user when it is missing.
func systemUser(ctx context.Context) (string, error) {
	if _, err := user.Lookup("postgres"); err == nil {
		return "postgres", nil
	}
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--no-create-home",
		"--shell", "/usr/sbin/nologin", "postgres").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pgcluster: running as root and no 'postgres' user to run the server: useradd: %w: %s", err, out)
	}
	return "postgres", nil
}

// findBinaries returns the folder holding initdb and pg_ctl: the newest
// Debian/Ubuntu versioned folder first, then $PATH.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) && version(d) >= 15 {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

// Tool is the path of one of PostgreSQL's programs (pg_dump, pg_restore)
// from the same installation the clusters run on.
func Tool(name string) (string, error) {
	dir, err := findBinaries()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	if !isExec(p) {
		return "", fmt.Errorf("pgcluster: %s not found in %s", name, dir)
	}
	return p, nil
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func canInstall() bool {
	_, err := exec.LookPath("apt-get")
	return os.Geteuid() == 0 && err == nil
}

func install(ctx context.Context, logw io.Writer) error {
	for _, args := range [][]string{
		{"update"},
		{"install", "-y", "--no-install-recommends", "postgresql", "postgresql-contrib"},
	} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = logw, logw
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", args[0], err)
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: lock: %w", err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("pgcluster: %s is locked by another process", path)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}
