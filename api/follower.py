"""The follower: `tracker project --follow`, also the helper an embedded import starts
(`python -m api.cli project --follow --exit-with-parent PID`; the command line loads no
web framework, so the helper is folding within a fraction of a second).

Signals: SIGTERM or SIGINT stop it after the batch it is in; SIGUSR1 makes it catch up to
the head once more and then stop (an import sends it when everything is written: the
helper's caches are warm, its parent's are not). With --exit-with-parent it also stops when
that process is gone.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from api.services import Services
from projections.notify import waiter_for

log = logging.getLogger(__name__)


def follow(services: Services, poll: float, exit_with_parent: int | None = None,
           say: Callable[[str], None] | None = None) -> None:
    """Follows the log until a signal (or the parent's exit) stops it."""
    stop = threading.Event()
    finish = threading.Event()
    if exit_with_parent is not None:
        def watch_parent() -> None:
            while not stop.wait(0.5):
                if os.getppid() != exit_with_parent:
                    stop.set()

        threading.Thread(target=watch_parent, daemon=True).start()

    def stop_now(*_: Any) -> None:
        stop.set()

    def finish_then_stop(*_: Any) -> None:
        finish.set()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop_now)
    signal.signal(signal.SIGUSR1, finish_then_stop)
    if say is not None:
        try:
            behind = min(services.runner.lag().values(), default=0)
            say(f"following the log from {behind} events behind the head; Ctrl-C to stop")
        except Exception as e:  # noqa: BLE001 - the supervisor below retries
            say(f"following the log; the stores are not reachable yet ({type(e).__name__})")
    supervise(services, stop, poll, say)
    if finish.is_set():
        services.runner.catch_up()
    if say is not None:
        say("stopped")


def supervise(services: Services, stop: threading.Event, poll: float,
              say: Callable[[str], None] | None = None, max_backoff: float = 1.0) -> None:
    """Follows the log until `stop`, surviving outages: a failure of the event store, the
    read model or the bus is one log line, then a retry after a capped exponential
    backoff; folding resumes from the read model's stored position (each batch lands
    once, whatever was in flight). If the read model came back empty, that position is 0:
    it is rebuilt from the log.

    The backoff starts again from its first step as soon as the follower is back at
    work (it has caught up once and waits for news): each outage is waited out on its
    own, never on the delays the previous ones grew. It is capped low (1 s: a failed try
    costs little), so the views follow within a second or two of the stores' return. A
    long outage is logged on its 1st, 2nd, 4th, 8th… failure, not on every one.

    Each line is written once: to `say` when given (the command's stderr), else to the
    log. Both at once doubled every line on the command line, where no logging is
    configured and Python's last-resort handler writes warnings to stderr too."""

    def tell(line: str) -> None:
        if say is not None:
            say(line)
        else:
            log.warning(line)

    first = 0.25
    backoff = first
    failures = 0
    while not stop.is_set():
        close: Callable[[], None] = lambda: None  # noqa: E731
        try:
            wait, close = waiter_for(services.tracker, services.bus)

            def wait_reset(event: threading.Event, seconds: float,
                           wait: Callable[[threading.Event, float], None] = wait) -> None:
                nonlocal backoff, failures
                if failures:
                    tell(f"follower: the stores are back after {failures} failed tries")
                backoff, failures = first, 0  # caught up: reconnected
                wait(event, seconds)

            services.runner.follow(stop, wait_reset, poll_interval=poll)
        except Exception as e:  # noqa: BLE001 - logged, retried: that is the supervisor's job
            failures += 1
            if failures & (failures - 1) == 0:  # 1, 2, 4, 8…
                head = (str(e).splitlines() or [""])[0][:200]
                line = (f"follower: {type(e).__name__}: {head}; retrying in {backoff:g}s"
                        + (f" (failed {failures} times)" if failures > 1 else ""))
                tell(line)
            services.store.reset()  # it may come back empty: made again, folded again
            stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)
        else:
            backoff = first
        finally:
            close()
