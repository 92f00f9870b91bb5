"""Running a per-file task over many files on several cores, in input order.

Both passes of a run work file by file, each file independent of the others
once the pass's inputs exist (pass 2 needs the project index), so a pool of
processes can share the files out. What every task needs (the index, the settings, the rules)
reaches each worker once, when it starts; tasks carry only file names.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Tuple, TypeVar

# multiprocessing and concurrent.futures cost a fifth of start-up and most
# runs (a warm cache, a few files, -j1) start no pool: imported when one starts.
if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

Item = TypeVar("Item")
Result = TypeVar("Result")
Task = Callable[[Any, Any], Any]

# Below this many files a pool costs more to start and feed than it saves.
MIN_FILES_FOR_POOL = 20
# Chunks per worker: enough that a worker left with big files does not keep
# the others waiting long, few enough that IPC stays a small share of the run.
CHUNKS_PER_WORKER = 8


class JobsError(ValueError):
    """A -j value that is neither `auto` nor a positive number."""


def parse_jobs(value: object) -> int:
    """How many processes `-j VALUE` asks for: `auto` (every core) or a positive int."""
    text = str(value).strip().lower()
    if text == "auto":
        return default_jobs()
    try:
        jobs = int(text)
    except ValueError:
        raise JobsError(f"-j/--jobs must be 'auto' or a positive number, not {value!r}") from None
    if jobs < 1:
        raise JobsError(f"-j/--jobs must be 'auto' or a positive number, not {value!r}")
    return jobs


def default_jobs() -> int:
    """The cores this process may run on (its affinity mask where the OS keeps one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def workers_for(count: int, jobs: int) -> int:
    """How many worker processes `count` files get: 1 means in-process, no pool."""
    if jobs <= 1 or count < max(MIN_FILES_FOR_POOL, 2 * jobs):
        return 1
    return min(jobs, count)


def run_tasks(
    task: Task,
    state: object,
    items: Sequence[Item],
    jobs: int,
    crashed: Callable[[Item], Result],
) -> List[Result]:
    """`[task(state, item) for item in items]`, shared out over `jobs` processes.

    `task` must be a module-level function (workers find it by name) and
    `state` picklable. An exception `task` raises reaches the caller, as it
    would in-process; an item whose worker process died gets `crashed(item)`
    and the other items still get their results.
    """
    workers = workers_for(len(items), jobs)
    if workers == 1:
        return [task(state, item) for item in items]
    from concurrent.futures.process import BrokenProcessPool
    results: List[Any] = [None] * len(items)
    done = [False] * len(items)
    size = max(1, math.ceil(len(items) / (workers * CHUNKS_PER_WORKER)))
    bounds = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    pool = _pool(workers, state)
    try:
        futures: List[Tuple[int, int, Future]] = [
            (start, stop, pool.submit(_run_chunk, task, list(items[start:stop]))) for start, stop in bounds
        ]
        for start, stop, future in futures:
            try:
                chunk_results = future.result()
            except BrokenProcessPool:
                continue
            results[start:stop] = chunk_results
            done[start:stop] = [True] * (stop - start)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    missing = [position for position, finished in enumerate(done) if not finished]
    if missing:
        _run_isolated(task, state, items, missing, results, crashed)
    return results


def _run_isolated(
    task: Task,
    state: object,
    items: Sequence[Item],
    positions: Sequence[int],
    results: List[Any],
    crashed: Callable[[Item], Result],
) -> None:
    """After a worker died: the unfinished items one at a time, so the one killing it is known.

    Never in this process: what killed a worker would kill the whole run.
    """
    from concurrent.futures.process import BrokenProcessPool

    pool: Optional[ProcessPoolExecutor] = None
    try:
        for position in positions:
            if pool is None:
                pool = _pool(1, state)
            try:
                results[position] = pool.submit(_run_chunk, task, [items[position]]).result()[0]
            except BrokenProcessPool:
                results[position] = crashed(items[position])
                pool.shutdown(wait=True)
                pool = None
    except BaseException:
        if pool is not None:
            _stop(pool)
            pool = None
        raise
    if pool is not None:
        pool.shutdown(wait=True)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop at once (Ctrl-C, an error): a worker would otherwise finish every chunk already queued."""
    # Python < 3.14 has no public way to end the workers of a pool.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()
    if manager is not None:
        # Let the pool's manager thread finish closing its pipe: at exit,
        # concurrent.futures wakes each such thread still alive through it,
        # and one caught closing it printed an OSError traceback after Ctrl-C.
        manager.join(timeout=10)


def _pool(workers: int, state: object) -> "ProcessPoolExecutor":
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=workers, mp_context=_start_context(), initializer=_install_state, initargs=(state,)
    )


def _start_context():  # type: ignore[no-untyped-def]
    """fork where it is safe (Linux, no other thread running): it starts in milliseconds
    and hands the state over without pickling it; spawn elsewhere."""
    import multiprocessing

    if (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    ):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


# Set in each worker by its initializer: what every task of the pool shares.
_worker_state: object = None


def _install_state(state: object) -> None:
    global _worker_state
    _worker_state = state
    # Ctrl-C is the parent's to handle: it stops the workers and writes nothing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_chunk(task: Task, chunk: List[Any]) -> List[Any]:
    return [task(_worker_state, item) for item in chunk]
