"""A real Ray cluster on this machine, for the tests (``ray_cluster`` in tests/conftest.py) and
``benchmarks/scaling.py``: a head node and worker nodes of 1 CPU each on loopback."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RayCluster:
    """A real Ray cluster on this machine: a head node and worker nodes, each ``ray start
    --block`` in a session of its own; stopping a node kills its process tree (never ``ray
    stop``, which would end every Ray on the machine)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.dashboard_port = free_port()
        self.dashboard_url = f"http://127.0.0.1:{self.dashboard_port}"
        self.client_port = free_port()  # Ray Client: compute_target="ray://127.0.0.1:<port>"
        self._nodes: list[subprocess.Popen] = []
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout
        # Not the caller's MLflow settings (an experiment chosen by set_experiment() is exported
        # as MLFLOW_EXPERIMENT_ID): the cluster's processes are no one's MLflow client.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        # Workers (and jobs) import this checkout and run this Python (a job's `python`); a
        # dead node is noticed after ~3 s, not ~30 s.
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
        self.env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])
        self.env.update(RAY_health_check_period_ms="1000", RAY_health_check_failure_threshold="3")
        self.env.pop("RAY_ADDRESS", None)

    def _start(self, *arguments: str) -> subprocess.Popen:
        ray = os.path.join(os.path.dirname(sys.executable), "ray")
        ports = ["--dashboard-agent-listen-port", "--dashboard-agent-grpc-port"]
        ports += ["--metrics-export-port", "--runtime-env-agent-port"]
        command = [ray, "start", "--block", "--num-cpus", "1", *arguments]
        for option in ports:
            command += [option, str(free_port())]
        log = open(os.path.join(self.root, f"node{len(self._nodes)}.log"), "w")  # noqa: SIM115
        process = subprocess.Popen(
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._nodes.append(process)
        return process

    def start_head(self) -> None:
        head = self._start(
            "--head",
            "--port",
            str(self.port),
            "--temp-dir",
            os.path.join(self.root, "t"),
            "--include-dashboard=true",
            "--dashboard-host",
            "127.0.0.1",
            "--dashboard-port",
            str(self.dashboard_port),
            "--ray-client-server-port",
            str(self.client_port),
        )
        (head.node_id,) = self._wait_for_nodes(1)
        self._wait_for_client_server()

    @property
    def nodes(self) -> list[subprocess.Popen]:
        """The nodes' ``ray start`` processes, the head first."""
        return list(self._nodes)

    def add_node(self) -> subprocess.Popen:
        """Starts one more 1-CPU worker node; returns once the cluster counts it. The process
        has the node's id as ``node_id``."""
        before = self._wait_for_nodes(0)
        process = self._start("--address", self.address)
        (process.node_id,) = self._wait_for_nodes(len(before) + 1) - before
        return process

    def _wait_for_nodes(self, n: int, timeout: float = 120) -> set[str]:
        """The ids of the live nodes, once there are at least ``n``."""
        script = (
            "import ray, sys, time; ray.init(address=sys.argv[1], logging_level='ERROR')\n"
            "t = time.time() + float(sys.argv[3])\n"
            "alive = lambda: [n['NodeID'] for n in ray.nodes() if n['Alive']]\n"
            "while len(alive()) < int(sys.argv[2]):\n"
            "    assert time.time() < t, ray.nodes(); time.sleep(0.5)\n"
            "print(' '.join(alive()))"
        )
        deadline = time.time() + timeout
        while True:  # the head's GCS may not listen yet
            result = subprocess.run(
                [sys.executable, "-c", script, self.address, str(n), str(timeout)],
                env=self.env,
                capture_output=True,
                text=True,
            )
            if result.returncode == 0:
                return set(result.stdout.split())
            if time.time() > deadline:
                raise RuntimeError(f"the Ray cluster did not get {n} nodes: {result.stderr}")
            time.sleep(1)

    def _wait_for_client_server(self, timeout: float = 120) -> None:
        """Returns once a Ray Client session opens: on a slow machine the head answers before
        its client server can start sessions (its runtime-env agent still starting), and a
        session that fails to start leaves Ray half set up in the process that asked."""
        script = "import ray, sys; ray.init(sys.argv[1], logging_level='ERROR'); ray.shutdown()"
        address = f"ray://127.0.0.1:{self.client_port}"
        deadline = time.time() + timeout
        while True:
            result = subprocess.run(
                [sys.executable, "-c", script, address], env=self.env, capture_output=True
            )
            if result.returncode == 0:
                return
            if time.time() > deadline:
                raise RuntimeError(f"no Ray Client session opened at {address}: {result.stderr}")
            time.sleep(1)

    def kill_node(self, process: subprocess.Popen) -> None:
        import psutil

        tree = []
        with contextlib.suppress(psutil.NoSuchProcess):
            tree = psutil.Process(process.pid).children(recursive=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for child in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        process.wait()

    def stop(self) -> None:
        for process in reversed(self._nodes):
            self.kill_node(process)
        self._nodes = []


@contextlib.contextmanager
def running_cluster(n_nodes: int) -> Iterator[RayCluster]:
    """A started cluster of ``n_nodes`` (the head first) in a fresh folder under /tmp; at the
    end this process's Ray connection is closed, every node killed and the folder removed."""
    cluster = RayCluster(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    try:
        cluster.start_head()
        for _ in range(n_nodes - 1):
            cluster.add_node()
        yield cluster
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
