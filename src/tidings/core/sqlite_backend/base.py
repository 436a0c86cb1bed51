"""Django's SQLite backend with writers queued for the write lock, across threads and processes.

SQLite has one writer. Django serves each ASGI request on a thread (and connection) of its own, so a burst of
requests meets at `BEGIN IMMEDIATE`, where SQLite's busy handler makes the losers sleep and retry with growing
pauses: most requests are quick, some wait seconds (a webhook burst had a p99 of 1.3 s against 60 ms at the
median). Threads of one process now wait for the write lock in a queue of their own, taken just before `BEGIN` and
released at commit or rollback. Processes queue the same way, on an exclusive `flock` of a file beside the
database (`<name>-writer`) taken after the thread's lock: a waiting process sees it free within a millisecond,
where SQLite's busy handler would have it sleep up to 25 ms at a time and let a newcomer overtake it (the LINE
fan-out over HTTP, a web process and two workers on one file, went from 11,300-12,200 to 12,100-13,600
recipients/s). SQLite's own lock still decides; the queue only orders who asks for it.

Polling alone is not fair: a process that commits and begins again at once finds the lock free before a waiter's
next poll. A bulk send storing its parts one transaction after another kept both workers out until the last part,
so nothing went out while it stored (over a second for 100,000 LINE recipients). So a waiting process also holds a
shared lock on a second file (`<name>-writer-waiters`), and a process about to compete first gives anyone holding
it a few milliseconds to take the free lock.

Connections are also kept for reuse. Django closes a request's connection when the request ends, and under ASGI
every request runs on a thread of its own, so each opened a new one: the file opened, Django's thirty-odd SQL
functions registered and the PRAGMAs run: about 3 ms of server CPU per request on the development machine
(`/healthz` went from 7.8 to 4.9 ms with reuse). A closed connection that is outside any transaction goes back to a
small per-database pool instead, and the next thread of the process takes it from there.
"""

import fcntl
import os
import threading
import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base, creation

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()

POOL_SIZE = 16  # idle connections kept per database file and process
_idle: dict[str, list] = {}
_idle_guard = threading.Lock()


_lock_files: dict[tuple[str, int], tuple[int, int]] = {}
POLITE_WAIT = 0.005  # seconds a process lets earlier waiters take a free lock before it competes


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(name), threading.Lock())


def writer_lock_path(name) -> str:
    # A file of its own: a flock of the database file would meet SQLite's fcntl locks where the two interact (BSD,
    # macOS), and closing any descriptor of that file drops the process's fcntl locks on it.
    return f"{name}-writer"


def waiters_lock_path(name) -> str:
    return f"{name}-writer-waiters"


def _lock_files_for(name: str) -> tuple[int, int]:
    """This process's descriptors of the database's writer and waiters lock files; a forked child opens its own, as
    a shared descriptor would share the lock."""
    key = (str(name), os.getpid())
    with _locks_guard:
        if key not in _lock_files:
            _lock_files[key] = tuple(os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                                     for path in (writer_lock_path(name), waiters_lock_path(name)))
        return _lock_files[key]


def _forget_lock_files(name: str) -> None:
    """Remove the lock files of a database being deleted (a test database), and this process's descriptors."""
    with _locks_guard:
        fds = _lock_files.pop((str(name), os.getpid()), ())
    for fd in fds:
        os.close(fd)
    for path in (writer_lock_path(name), waiters_lock_path(name)):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def _others_waiting(waiters: int) -> bool:
    try:
        fcntl.flock(waiters, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(waiters, fcntl.LOCK_UN)
    return False


def _flock_until(fds: tuple[int, int], deadline: float) -> bool:
    """Take the exclusive writer lock, after any process already waiting for it, trying every 0.1-1 ms until
    `deadline` (flock has no timeout of its own). Only one thread per process gets here at a time, so the polling
    costs little. No call blocks, so even a stopped process cannot hold another past its busy timeout."""
    writer, waiters = fds
    polite_until = min(deadline, time.monotonic() + POLITE_WAIT)
    while _others_waiting(waiters) and time.monotonic() < polite_until:
        time.sleep(0.0001)
    waiting, pause = False, 0.0001
    try:
        while True:
            try:
                fcntl.flock(writer, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
            if not waiting:  # say so, for the next process's politeness (fails only during another's probe)
                try:
                    fcntl.flock(waiters, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    waiting = True
                except BlockingIOError:
                    pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(0.001, pause * 2)
    finally:
        if waiting:
            fcntl.flock(waiters, fcntl.LOCK_UN)


class DatabaseCreation(creation.DatabaseCreation):
    def _destroy_test_db(self, test_database_name, verbosity):
        if test_database_name and not self.is_in_memory_db(test_database_name):
            # Closed for real, SQLite removes the -wal and -shm files with the last connection.
            with _idle_guard:
                idle = _idle.pop(str(test_database_name), [])
            for conn in idle:
                conn.close()
            _forget_lock_files(test_database_name)
        super()._destroy_test_db(test_database_name, verbosity)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation
    # What this connection holds while in a transaction: the process's lock and the lock file's descriptor (None
    # for an in-memory database), kept so giving them back needs no lookup (it may run in __del__).
    _held: tuple[threading.Lock, int | None] | None = None

    def get_new_connection(self, conn_params):
        with _idle_guard:
            pool = _idle.get(str(self.settings_dict["NAME"]))
            reused = pool.pop() if pool else None
        if reused is None:
            return super().get_new_connection(conn_params)
        # Whatever the last user did, constraints are enforced again (Django turns them off only within a block).
        reused.execute("PRAGMA foreign_keys = ON")
        return reused

    def _pooled(self) -> bool:
        """Hand the open connection to the pool instead of closing it; False if it cannot be reused."""
        conn = self.connection
        if conn is None or conn.in_transaction or self.in_atomic_block or self.is_in_memory_db():
            return False
        with _idle_guard:
            pool = _idle.setdefault(str(self.settings_dict["NAME"]), [])
            if len(pool) >= POOL_SIZE:
                return False
            pool.append(conn)
        return True

    def _start_transaction_under_autocommit(self):
        lock = _lock_for(self.settings_dict["NAME"])
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        deadline = time.monotonic() + timeout
        if not lock.acquire(timeout=timeout):
            raise OperationalError("database is locked (waited for this process's other writers)")
        fds = None if self.is_in_memory_db() else _lock_files_for(self.settings_dict["NAME"])
        if fds is not None and not _flock_until(fds, deadline):
            lock.release()
            raise OperationalError("database is locked (waited for other processes' writers)")
        self._held = (lock, fds[0] if fds else None)
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self):
        if self._held is not None:
            (lock, fd), self._held = self._held, None
            try:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                lock.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            if not self._pooled():
                return super()._close()
        finally:
            self._release_write_lock()

    def __del__(self):
        # A thread that ended inside a transaction without closing its connection: its SQLite lock goes with the
        # connection object, and so must ours (a plain Lock may be released from any thread).
        try:
            self._release_write_lock()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to wait for it
            pass
