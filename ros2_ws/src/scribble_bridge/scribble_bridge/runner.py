"""The executables: `writer` and `whiteboard_sim` (console scripts) build their node, spin, and exit cleanly.

Everything is imported inside the Ctrl-C guard: the node modules load torch or PyBullet, which takes
seconds, and a Ctrl-C then should end the program as quietly as one while it runs.
"""

from __future__ import annotations

import importlib
import sys


def writer(args: list[str] | None = None) -> None:
    raise SystemExit(run_node("writer", "scribble_bridge.writer_node:WriterNode", args))


def whiteboard_sim(args: list[str] | None = None) -> None:
    raise SystemExit(
        run_node("whiteboard_sim", "scribble_bridge.whiteboard_sim_node:WhiteboardSimNode", args)
    )


def run_node(name: str, node_class: str, args: list[str] | None = None) -> int:
    """Spin the node `module:Class` names; return the process exit code.

    A node that cannot start for a reason the user can fix (missing checkpoint, bad parameter, unreadable
    file) prints one line `<name>: error: ...` and returns 2. Ctrl-C (SIGINT) or an external shutdown
    return 0 without a traceback, whenever they come: rclpy's deferred signal handler shuts the context down
    from another thread, and an executor that is just making its wait set then raises RCLError ("the given
    context is not valid", ros2/rclpy#398) instead of ExternalShutdownException; with the context shut
    down, that is the same shutdown. Any other RCLError is raised.
    """
    try:
        import rclpy
        from rclpy.exceptions import ParameterException
        from rclpy.executors import ExternalShutdownException
        from rclpy.subscription import RCLError

        from trajtok.errors import TrajtokError

        module, _, cls = node_class.partition(":")
        make_node = getattr(importlib.import_module(module), cls)
    except KeyboardInterrupt:
        return 0
    node = None
    try:
        rclpy.init(args=args)
        try:
            node = make_node()
        except (TrajtokError, ValueError, OSError, ParameterException) as exc:
            print(f"{name}: error: {exc}", file=sys.stderr, flush=True)
            return 2
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RCLError:
        if rclpy.ok():
            raise
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
