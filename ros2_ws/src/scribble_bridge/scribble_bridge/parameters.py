"""The nodes' ROS parameters: each declared with a description and a range; the board ones map to BoardConfig.

Defaults come from `trajtok.board.BoardConfig`, so the node, the simulator and the CLI agree. An update
that leaves the range, or that BoardConfig refuses as a whole (a write speed above the speed limit, say),
is rejected with the reason and changes nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from trajtok.board import BoardConfig

_BOARD_DEFAULTS = BoardConfig()


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: object
    description: str
    limits: tuple[float, float] | None = None  # inclusive range for numbers
    read_only: bool = False

    def descriptor(self, read_only: bool = False) -> ParameterDescriptor:
        descriptor = ParameterDescriptor(description=self.description, read_only=self.read_only or read_only)
        if self.limits is not None and isinstance(self.default, float):
            descriptor.floating_point_range = [
                FloatingPointRange(from_value=self.limits[0], to_value=self.limits[1])
            ]
        elif self.limits is not None and isinstance(self.default, int):
            lo, hi = (int(v) for v in self.limits)
            descriptor.integer_range = [IntegerRange(from_value=lo, to_value=hi, step=1)]
        return descriptor


def _board(name: str, field: str, description: str, limits: tuple[float, float]) -> ParamSpec:
    return ParamSpec(name, float(getattr(_BOARD_DEFAULTS, field)), description, limits)


def _center(axis: int, limits: tuple[float, float]) -> ParamSpec:
    name = "xyz"[axis]
    default = float(_BOARD_DEFAULTS.center_m[axis])
    return ParamSpec(f"board_center_{name}_m", default, f"board centre in the world, {name} (m)", limits)


# Board geometry and motion: the writer plans with them, whiteboard_sim places its board with them.
BOARD_PARAMS = (
    ParamSpec(
        "board_frame",
        "whiteboard",
        "frame id of the board: origin at the centre of the surface, "
        "x to the writer's right, y up, z out of the board towards the arm",
    ),
    _board("board_width_m", "width_m", "board width (m)", (0.1, 3.0)),
    _board("board_height_m", "height_m", "board height (m)", (0.1, 2.0)),
    _center(0, (-3.0, 3.0)),
    _center(1, (-3.0, 3.0)),
    _center(2, (0.0, 3.0)),
    _board("board_yaw_deg", "yaw_deg", "board yaw about the world z axis (deg); 0 faces -x", (-180.0, 180.0)),
    _board(
        "letter_height_m",
        "letter_height_m",
        "height of one handwriting unit (about the x-height), m",
        (0.005, 0.3),
    ),
    _board(
        "pen_up_clearance_m", "pen_up_clearance_m", "pen-up travel height off the board (m)", (0.001, 0.2)
    ),
    _board("approach_m", "approach_m", "height of the first descent and the final retract (m)", (0.001, 0.5)),
    _board("write_speed_mps", "write_speed_mps", "pen speed while writing (m/s)", (0.001, 2.0)),
    _board("travel_speed_mps", "travel_speed_mps", "pen speed between strokes, lifted (m/s)", (0.001, 2.0)),
    _board(
        "max_speed_mps",
        "max_speed_mps",
        "speed limit: higher write/travel speeds are refused (m/s)",
        (0.001, 2.0),
    ),
    _board("max_accel_mps2", "max_accel_mps2", "acceleration limit (m/s^2)", (0.01, 20.0)),
    _board("control_rate_hz", "control_rate_hz", "waypoints per second in the stream", (1.0, 1000.0)),
)

# Board parameter -> BoardConfig field (the centre is assembled from three parameters).
_BOARD_FIELDS = {
    "board_width_m": "width_m",
    "board_height_m": "height_m",
    "board_yaw_deg": "yaw_deg",
    "letter_height_m": "letter_height_m",
    "pen_up_clearance_m": "pen_up_clearance_m",
    "approach_m": "approach_m",
    "write_speed_mps": "write_speed_mps",
    "travel_speed_mps": "travel_speed_mps",
    "max_speed_mps": "max_speed_mps",
    "max_accel_mps2": "max_accel_mps2",
    "control_rate_hz": "control_rate_hz",
}


def board_config(values: dict[str, object]) -> BoardConfig:
    """Parameter values (name -> value) -> BoardConfig; raises ValueError when BoardConfig refuses them."""
    fields = {field: values[name] for name, field in _BOARD_FIELDS.items()}
    center = (values["board_center_x_m"], values["board_center_y_m"], values["board_center_z_m"])
    return dataclasses.replace(_BOARD_DEFAULTS, center_m=center, **fields)


def declare(node: Node, specs: tuple[ParamSpec, ...], read_only: bool = False) -> None:
    """Declare `specs` on `node` (all read-only with read_only=True)."""
    node.declare_parameters("", [(spec.name, spec.default, spec.descriptor(read_only)) for spec in specs])


def values(node: Node, specs: tuple[ParamSpec, ...], updates: list[Parameter] = ()) -> dict[str, object]:
    """Current values of `specs`, with `updates` (not yet applied) laid over them."""
    current = {spec.name: node.get_parameter(spec.name).value for spec in specs}
    current.update({p.name: p.value for p in updates if p.name in current})
    return current


def board_check(node: Node, specs: tuple[ParamSpec, ...]):
    """An on-set-parameters callback that refuses updates BoardConfig would refuse."""

    def check(updates: list[Parameter]) -> SetParametersResult:
        if not any(p.name in _BOARD_FIELDS or p.name.startswith("board_center") for p in updates):
            return SetParametersResult(successful=True)
        try:
            board_config(values(node, specs, updates))
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    return check
