"""A one-node Slurm cluster on this machine, from Debian's packages, for CI.

Installs (when missing) and starts, as root and without systemd: munged, a private MariaDB
instance holding the accounting database, slurmdbd, slurmctld and slurmd, all on 127.0.0.1. Jobs
are really submitted (``sbatch``), run by slurmd and accounted, so ``sacct`` answers the way it
does on a site's cluster; that is what ``snakemake-executor-plugin-slurm`` polls.

The configuration goes where every Slurm client looks for it, ``/etc/slurm/slurm.conf``: the
executor's job-step plugin drops ``SLURM_*`` variables (``SLURM_CONF`` included) before calling
``srun`` inside a job, so a private path would not reach it. A configuration this module did not
write is never overwritten, and the ones it wrote are removed when it stops. Everything else
(state, spool, logs, database files) lives under one state folder, wiped at each start so runs
do not see each other's jobs.

Command line::

    python -m meshdistill.testing.slurm_cluster start   # install if needed, start, wait for idle
    python -m meshdistill.testing.slurm_cluster stop

Root and apt-get (Debian or Ubuntu) are needed; :func:`can_run_here` says whether they are there.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from meshdistill.errors import MeshDistillError

#: Debian packages of the cluster. slurm-client brings sbatch, sacct, sacctmgr and sinfo.
PACKAGES = (
    "munge",
    "slurm-client",
    "slurmctld",
    "slurmd",
    "slurmdbd",
    "mariadb-server",
    "mariadb-client-core",
)
#: A program from each package above: when all are on PATH nothing is installed.
PROGRAMS = ("munged", "sbatch", "slurmctld", "slurmd", "slurmdbd", "mariadbd", "mariadb")
SLURM_CONF_DIR = Path("/etc/slurm")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_RUN_DIR = Path("/run/munge")
MUNGE_PID = MUNGE_RUN_DIR / "munged.pid"
#: First line of every configuration file this module writes (so it never clobbers a site's).
MARKER = "# Written by meshdistill.testing.slurm_cluster (a one-node test cluster)."
DEFAULT_STATE_DIR = Path("/tmp/meshdistill-slurm")
#: Seconds to wait for each daemon to answer.
START_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.2


class SlurmClusterError(MeshDistillError):
    """The test cluster could not be installed, started or stopped; says which step and why."""


@dataclass(frozen=True)
class ClusterSettings:
    """Names and ports of the test cluster (what a site's administrator would choose)."""

    state_dir: Path = DEFAULT_STATE_DIR
    cluster: str = "meshdistill"
    account: str = "meshdistill_ci"
    partition: str = "ci"
    slurmctld_port: int = 6817
    slurmd_port: int = 6818
    slurmdbd_port: int = 6819
    mariadb_port: int = 3307


def can_run_here() -> str | None:
    """None when this machine can host the cluster, else why not (for a test's skip reason)."""
    if os.name != "posix" or os.geteuid() != 0:
        return "the Slurm test cluster needs root"
    if shutil.which("apt-get") is None and any(shutil.which(p) is None for p in PROGRAMS):
        return "the Slurm test cluster needs apt-get (Debian/Ubuntu) or Slurm already installed"
    return None


def install_packages(log: Callable[[str], None] = print) -> float:
    """Install the Debian packages that are missing; seconds it took (0 when none was)."""
    missing = [program for program in PROGRAMS if shutil.which(program) is None]
    if not missing:
        return 0.0
    started = time.monotonic()
    log(f"installing {' '.join(PACKAGES)} (missing: {', '.join(missing)})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    # A new machine may have no package lists yet: refresh them only when the install needs it.
    if subprocess.run(install, env=env, capture_output=True, text=True).returncode != 0:
        _run(["apt-get", "update", "-q"], "apt-get update", env=env)
        _run(install, "apt-get install", env=env)
    still_missing = [program for program in PROGRAMS if shutil.which(program) is None]
    if still_missing:
        raise SlurmClusterError(f"installed {PACKAGES} but {still_missing} are not on PATH")
    return time.monotonic() - started


class SlurmCluster:
    """Start with :meth:`start` (or ``with SlurmCluster() as cluster:``), stop with :meth:`stop`."""

    def __init__(self, settings: ClusterSettings | None = None) -> None:
        self.settings = settings or ClusterSettings()
        self.state = self.settings.state_dir
        self.logs = self.state / "log"
        # Present while munged runs because this cluster started it (a later `stop` reads it).
        self._munged_flag = self.state / "munged-started-here"
        self._mariadb: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, log: Callable[[str], None] = print) -> None:
        reason = can_run_here()
        if reason:
            raise SlurmClusterError(reason)
        install_packages(log)
        self._check_config_is_ours()
        self.stop()  # daemons left over from an earlier run, if any
        shutil.rmtree(self.state, ignore_errors=True)
        for folder in (self.logs, self.state / "slurmctld", self.state / "slurmd"):
            folder.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self._start_munge()
        password = secrets.token_hex(16)
        self._start_mariadb(password)
        log(f"munged and mariadbd up after {time.monotonic() - started:.1f} s")
        self._write_configs(password)
        self._start_daemon(["slurmdbd"], "slurmdbd")
        self._wait(self._accounting_answers, "slurmdbd", "slurmdbd.log")
        self._register_accounts()
        log(f"slurmdbd up, accounts registered after {time.monotonic() - started:.1f} s")
        self._start_daemon(["slurmctld"], "slurmctld")
        self._start_daemon(["slurmd"], "slurmd")
        self._wait(self._node_idle, "slurmctld and slurmd (node idle in sinfo)", "slurmctld.log")
        log(f"node idle after {time.monotonic() - started:.1f} s")

    def stop(self) -> None:
        """Stop the daemons this cluster's state folder records, newest first."""
        # Signalled together, waited for together: each takes seconds to shut down.
        _terminate([self.state / f"{name}.pid" for name in ("slurmd", "slurmctld", "slurmdbd")])
        _terminate([self.state / "mariadb.pid"])
        if self._mariadb is not None:
            self._mariadb.wait(timeout=START_TIMEOUT_S)
            self._mariadb = None
        if self._munged_flag.exists():
            _terminate([MUNGE_PID])
            self._munged_flag.unlink()
        # A slurm.conf left behind makes every later Snakemake start probe for the cluster
        # (seen: about 9 s per start, for the rest of the test suite).
        for name in ("slurm.conf", "slurmdbd.conf"):
            path = SLURM_CONF_DIR / name
            if path.exists() and path.read_text(errors="replace").startswith(MARKER):
                path.unlink()

    def __enter__(self) -> SlurmCluster:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests ask ----------------------------------------------------------------------

    def accounted_jobs(self, name: str | None = None) -> list[dict[str, str]]:
        """Jobs the accounting database holds (allocations only, no steps), oldest first."""
        fields = ["JobIDRaw", "JobName", "State", "Account", "Partition", "ExitCode"]
        fields += ["AllocCPUS", "ReqMem", "Timelimit"]
        command = ["sacct", "-X", "--parsable2", "--noheader", "--allusers"]
        command += ["--starttime", "now-1days", "--format", ",".join(fields)]
        if name:
            command += ["--name", name]
        output = _run(command, "sacct").stdout
        return [dict(zip(fields, line.split("|"), strict=True)) for line in output.splitlines()]

    # -- steps -------------------------------------------------------------------------------

    def _check_config_is_ours(self) -> None:
        for name in ("slurm.conf", "slurmdbd.conf"):
            path = SLURM_CONF_DIR / name
            if path.exists() and not path.read_text(errors="replace").startswith(MARKER):
                raise SlurmClusterError(
                    f"{path} exists and was not written by this test cluster; it is left alone. "
                    "Run the Slurm test on a machine without its own Slurm configuration."
                )

    def _start_munge(self) -> None:
        if _munge_answers():
            return
        if not MUNGE_KEY.exists():
            _run(["runuser", "-u", "munge", "--", "mungekey", "--create"], "mungekey --create")
        MUNGE_RUN_DIR.mkdir(parents=True, exist_ok=True)
        shutil.chown(MUNGE_RUN_DIR, "munge", "munge")
        _run(["runuser", "-u", "munge", "--", "munged"], "munged")
        self._munged_flag.touch()
        self._wait(_munge_answers, "munged", None)

    def _start_mariadb(self, password: str) -> None:
        data = self.state / "mariadb"
        data.mkdir()
        shutil.chown(data, "mysql", "mysql")
        _run(
            ["mariadb-install-db", "--user=mysql", f"--datadir={data}", "--skip-test-db"],
            "mariadb-install-db",
        )
        socket_path = data / "mysqld.sock"
        self._mariadb = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                "--user=mysql",
                f"--datadir={data}",
                f"--socket={socket_path}",
                f"--port={self.settings.mariadb_port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                f"--pid-file={data / 'mariadbd.pid'}",
                f"--log-error={self.logs / 'mariadb.log'}",
                # slurmdbd warns below 32 MiB; the accounting tables of a test run are tiny.
                "--innodb-buffer-pool-size=64M",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        (self.state / "mariadb.pid").write_text(f"{self._mariadb.pid}\n")
        self._wait(
            lambda: _succeeds(["mariadb-admin", f"--socket={socket_path}", "ping"]),
            "mariadbd",
            "mariadb.log",
        )
        statements = (
            f"CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}'; "
            "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
        )
        _run(["mariadb", f"--socket={socket_path}", "-e", statements], "mariadb (create user)")

    def _write_configs(self, password: str) -> None:
        s = self.settings
        host = socket.gethostname().split(".")[0]
        SLURM_CONF_DIR.mkdir(parents=True, exist_ok=True)
        slurm_conf = [
            MARKER,
            f"ClusterName={s.cluster}",
            f"SlurmctldHost={host}(127.0.0.1)",
            "SlurmUser=root",
            "AuthType=auth/munge",
            f"SlurmctldPort={s.slurmctld_port}",
            f"SlurmdPort={s.slurmd_port}",
            f"StateSaveLocation={self.state / 'slurmctld'}",
            f"SlurmdSpoolDir={self.state / 'slurmd'}",
            f"SlurmctldPidFile={self.state / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.state / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.logs / 'slurmctld.log'}",
            f"SlurmdLogFile={self.logs / 'slurmd.log'}",
            # No cgroups: CI containers rarely delegate them and have no systemd to ask.
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "AccountingStorageType=accounting_storage/slurmdbd",
            "AccountingStorageHost=127.0.0.1",
            f"AccountingStoragePort={s.slurmdbd_port}",
            "AccountingStorageEnforce=associations",
            "JobAcctGatherType=jobacct_gather/linux",
            "JobAcctGatherFrequency=30",
            "ReturnToService=2",
            "MpiDefault=none",
            _node_line(host),
            f"PartitionName={s.partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        ]
        slurmdbd_conf = [
            MARKER,
            "AuthType=auth/munge",
            "DbdHost=localhost",
            "DbdAddr=127.0.0.1",
            f"DbdPort={s.slurmdbd_port}",
            "SlurmUser=root",
            f"PidFile={self.state / 'slurmdbd.pid'}",
            f"LogFile={self.logs / 'slurmdbd.log'}",
            "StorageType=accounting_storage/mysql",
            "StorageHost=127.0.0.1",
            f"StoragePort={s.mariadb_port}",
            "StorageUser=slurm",
            f"StoragePass={password}",
            "StorageLoc=slurm_acct_db",
        ]
        (SLURM_CONF_DIR / "slurm.conf").write_text("\n".join(slurm_conf) + "\n")
        dbd = SLURM_CONF_DIR / "slurmdbd.conf"
        dbd.write_text("\n".join(slurmdbd_conf) + "\n")
        dbd.chmod(0o600)  # slurmdbd refuses a readable file holding the database password

    def _start_daemon(self, command: Sequence[str], name: str) -> None:
        """Slurm daemons fork into the background themselves and write their pid file."""
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise SlurmClusterError(
                f"{name} did not start: {result.stderr.strip()}\n{self._log_tail(name + '.log')}"
            )

    def _register_accounts(self) -> None:
        s = self.settings
        sacctmgr = ["sacctmgr", "--immediate"]
        _run([*sacctmgr, "add", "cluster", s.cluster], "sacctmgr add cluster")
        _run(
            [*sacctmgr, "add", "account", s.account, f"Cluster={s.cluster}", "Description=CI"],
            "sacctmgr add account",
        )
        _run(
            [*sacctmgr, "add", "user", "root", f"Account={s.account}", f"Cluster={s.cluster}"],
            "sacctmgr add user",
        )

    def _accounting_answers(self) -> bool:
        return _succeeds(["sacctmgr", "--noheader", "show", "cluster"])

    def _node_idle(self) -> bool:
        result = subprocess.run(
            ["sinfo", "--noheader", "--format=%T", "--partition", self.settings.partition],
            capture_output=True,
            text=True,
        )
        return result.returncode == 0 and result.stdout.strip() == "idle"

    def _wait(self, ready: Callable[[], bool], what: str, log_name: str | None) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready():
            if time.monotonic() > deadline:
                tail = self._log_tail(log_name) if log_name else ""
                raise SlurmClusterError(f"{what} not ready after {START_TIMEOUT_S:.0f} s\n{tail}")
            time.sleep(POLL_INTERVAL_S)

    def _log_tail(self, name: str, lines: int = 20) -> str:
        path = self.logs / name
        if not path.exists():
            return f"(no {path})"
        return f"last lines of {path}:\n" + "\n".join(path.read_text().splitlines()[-lines:])


def _node_line(host: str) -> str:
    """This machine's node definition as slurmd measures it (CPUs, sockets, cores, memory)."""
    measured = _run(["slurmd", "-C"], "slurmd -C").stdout.splitlines()[0].split()
    fields = [f"NodeName={host}", "NodeAddr=127.0.0.1"]
    fields += [field for field in measured if not field.startswith("NodeName=")]
    return " ".join([*fields, "State=UNKNOWN"])


def _munge_answers() -> bool:
    if shutil.which("munge") is None:
        return False
    credential = subprocess.run(["munge", "-n"], capture_output=True)
    if credential.returncode != 0:
        return False
    return subprocess.run(["unmunge"], input=credential.stdout, capture_output=True).returncode == 0


def _terminate(pid_files: Sequence[Path], timeout: float = START_TIMEOUT_S) -> None:
    """SIGTERM the processes the pid files name, then wait until all are gone."""
    running: dict[int, Path] = {}
    for pid_file in pid_files:
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
            running[pid] = pid_file
        except (OSError, ValueError, IndexError):  # no file, or the process is gone already
            pid_file.unlink(missing_ok=True)
    deadline = time.monotonic() + timeout
    while running:
        for pid in list(running):
            if not _alive(pid):
                running.pop(pid).unlink(missing_ok=True)
        if running and time.monotonic() > deadline:
            raise SlurmClusterError(f"still running {timeout:.0f} s after SIGTERM: {running}")
        time.sleep(POLL_INTERVAL_S)


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for its parent (this process, for mariadbd) to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _succeeds(command: Sequence[str]) -> bool:
    return subprocess.run(command, capture_output=True).returncode == 0


def _run(
    command: Sequence[str], what: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(command), capture_output=True, text=True, env=env)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise SlurmClusterError(f"{what} failed (exit {result.returncode}): {output}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["install", "start", "stop"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    args = parser.parse_args(argv)
    cluster = SlurmCluster(ClusterSettings(state_dir=args.state_dir))
    started = time.monotonic()
    try:
        if args.action == "install":
            install_packages()
        elif args.action == "start":
            cluster.start()
        else:
            cluster.stop()
    except SlurmClusterError as error:
        print(f"slurm_cluster {args.action}: {error}", file=sys.stderr)
        return 1
    print(f"slurm_cluster {args.action}: done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
