"""Node threads at Ctrl-C: rclpy shuts the context down first, so a publish in progress on another thread
fails; that failure is the end of the thread's work, not a bug, and must not print a traceback."""

from __future__ import annotations

from collections.abc import Callable


def quiet_after_shutdown(node, work: Callable) -> Callable:
    """`work`, whose errors are raised only while `node`'s context is still up."""

    def guarded(*args):
        try:
            return work(*args)
        except Exception:
            if node.context.ok():
                raise
            return None

    return guarded
