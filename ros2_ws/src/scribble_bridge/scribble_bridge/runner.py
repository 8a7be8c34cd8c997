"""How every scribble_bridge executable runs: init, build the node, spin, exit cleanly on Ctrl-C."""

from __future__ import annotations

import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from trajtok.errors import TrajtokError


def run_node(name: str, make_node: Callable[[], Node], args: list[str] | None = None) -> int:
    """Spin the node `make_node()` builds; return the process exit code.

    A node that cannot start for a reason the user can fix (missing checkpoint, bad parameter, unreadable
    file) prints one line `<name>: error: ...` and returns 2. Ctrl-C (SIGINT) or an external shutdown
    return 0 without a traceback.
    """
    rclpy.init(args=args)
    node = None
    try:
        try:
            node = make_node()
        except (TrajtokError, ValueError, OSError) as exc:
            print(f"{name}: error: {exc}", file=sys.stderr, flush=True)
            return 2
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
