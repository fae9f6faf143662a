"""Run a ``latentsky`` command many times and SIGKILL each run at a random point.

Usage: ``python forker.py SPEC.json RESULT.json``. The spec holds a
``trials`` folder and named ``jobs``; each job names the command (``argv``,
where ``{store}`` is replaced by each trial's store), a pristine ``template``
store copied for each trial (or null: the command creates the store), the
number of ``kills`` (runs actually killed; the ones that finished before
their delay are extra) and a ``seed``. The result maps each job to its measured
``duration`` and its ``trials`` (store path, delay, killed or finished).
``setup`` commands (argv lists) run first, in this process, to make the
templates (their imports and compiled kernels then serve every job).

Why a fork server: a cold ``latentsky analyse`` spends ~15 s importing and
JIT-compiling (umap, numba) before it touches the store, so killing cold
processes at delays drawn over their duration would mostly kill imports and
take minutes. Here the command runs once in this process (imports, compiled
kernels), once more in a forked child to measure its duration ``D``, and then
each trial forks a child that runs the real ``explorer.cli.main(argv)`` and is
killed with SIGKILL (its whole process group) after ``uniform(0, D)`` seconds.
Threads are pinned to one (``OMP_NUM_THREADS`` etc.) so that forking is safe.
With ``alternate_exchange``, every other trial runs with
``LATENTSKY_RENAME_EXCHANGE=0`` (the journaled two-step folder replace).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["NUMBA_NUM_THREADS"] = "1"
# numba's GNU OpenMP layer aborts a forked child; its own workqueue does not
os.environ["NUMBA_THREADING_LAYER"] = "workqueue"
os.environ["TQDM_DISABLE"] = "1"

import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from explorer import cli  # noqa: E402
from explorer.store.atomic import EXCHANGE_ENV  # noqa: E402


def _prepare(template: str | None, trial: Path) -> Path:
    trial.mkdir(parents=True)
    store = trial / "store"
    if template is not None:
        shutil.copytree(template, store)
    return store


def _child(argv: list[str], store: Path, exchange: bool) -> None:
    os.setpgid(0, 0)
    os.environ[EXCHANGE_ENV] = "1" if exchange else "0"
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    code = 1
    try:
        code = cli.main([a.replace("{store}", str(store)) for a in argv])
    finally:
        os._exit(code)


def _run(argv, store, exchange, delay: float | None) -> tuple[bool, float]:
    """Fork a run; kill it after ``delay`` s (None: wait). (killed, seconds)."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        _child(argv, store, exchange)
    if delay is not None:
        time.sleep(delay)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - started
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    if delay is None and os.waitstatus_to_exitcode(status) != 0:
        msg = f"the un-killed run of {argv} failed with status {status}"
        raise SystemExit(msg)
    return killed, elapsed


#: Seconds an un-killed (measuring) run may take before it counts as hung.
MEASURE_TIMEOUT_S = 120.0


def _measure(argv, template, trials: Path) -> tuple[float, int]:
    """Duration of one un-killed forked run, and how many runs hung first.

    A forked child can hang on a lock some thread of this (warmed-up)
    process held at the fork, a hazard of the fork server, not of the
    command; such a run is killed after :data:`MEASURE_TIMEOUT_S` and
    measured again (at most twice more) instead of stalling every job.
    """
    for retries in range(3):
        store = _prepare(template, trials / f"measure{retries}")
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            _child(argv, store, True)
        while time.perf_counter() - started < MEASURE_TIMEOUT_S:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                if os.waitstatus_to_exitcode(status) != 0:
                    msg = f"the un-killed run of {argv} failed with status {status}"
                    raise SystemExit(msg)
                shutil.rmtree(trials / f"measure{retries}")
                return time.perf_counter() - started, retries
            time.sleep(0.02)
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print(f"measuring {argv} hung for {MEASURE_TIMEOUT_S:.0f} s", file=sys.stderr)
    raise SystemExit(f"every measuring run of {argv} hung")


def _kill_runs(job: dict, trials: Path) -> dict:
    """Warm up, measure and kill the runs of one command (see the docstring)."""
    argv, template = job["argv"], job.get("template")
    warm = _prepare(template, trials / "warm")
    code = cli.main([a.replace("{store}", str(warm)) for a in argv])
    if code:
        raise SystemExit(f"warm-up run of {argv} failed with status {code}")
    duration, retries = _measure(argv, template, trials)
    shutil.rmtree(trials / "warm")
    rng = random.Random(job["seed"])
    results = []
    # a run that finished before its delay is no kill: draw until ``kills``
    # runs were killed (bounded, in case the command got much faster)
    k = 0
    while sum(r["killed"] for r in results) < job["kills"] and k < 3 * job["kills"]:
        exchange = not (job.get("alternate_exchange") and k % 2)
        store = _prepare(template, trials / f"t{k:02d}")
        delay = rng.uniform(0.0, duration)
        killed, elapsed = _run(argv, store, exchange, delay)
        if not killed:
            # the command ran faster than when it was measured (a busy
            # machine then): draw later delays within its real duration
            duration = min(duration, elapsed)
        trial = {"store": str(store), "delay": delay, "killed": killed}
        results.append({**trial, "exchange": exchange})
        k += 1
    return {"duration": duration, "measure_retries": retries, "trials": results}


def main(spec_path: str, result_path: str) -> None:
    """Run the spec's ``setup`` commands in process, then every job."""
    spec = json.loads(Path(spec_path).read_text())
    for argv in spec.get("setup", []):
        if cli.main(argv):
            raise SystemExit(f"setup command {argv} failed")
    trials = Path(spec["trials"])
    out = {name: _kill_runs(job, trials / name) for name, job in spec["jobs"].items()}
    Path(result_path).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
