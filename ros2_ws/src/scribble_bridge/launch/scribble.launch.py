"""Start the writer and the simulated whiteboard with the same board parameters.

    ros2 launch scribble_bridge scribble.launch.py                 # the pose stream
    ros2 launch scribble_bridge scribble.launch.py output:=joints  # a JointTrajectory, followed by the sim
    ros2 topic pub --once /text std_msgs/msg/String "{data: 'hello world'}"
    ros2 action send_goal --feedback /write scribble_interfaces/action/Write "{text: 'hello'}"

What it starts is declared as data (NODES, ARGUMENTS) so it can be checked where `launch` is not installed
(the ROS 2 PyPI wheels have no `launch`/`launch_ros`); generate_launch_description builds it from them.
"""

BOARD = {
    "board_frame": "whiteboard",
    "letter_height_m": 0.04,
    "write_speed_mps": 0.05,
    "control_rate_hz": 50.0,
}
ARGUMENTS = {"output": ("poses", "the writer's output: 'poses' (PoseStamped stream) or 'joints'")}
# (executable, parameters): values that are launch arguments are given by name, "$(output)".
NODES = (
    ("writer", {**BOARD, "output": "$(output)"}),
    ("whiteboard_sim", {**BOARD, "source": "$(sim_source)"}),
)
SIM_SOURCE = {"poses": "waypoint", "joints": "joints"}  # what the sim follows for each writer output


def generate_launch_description():
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    def nodes(context):
        output = LaunchConfiguration("output").perform(context)
        given = {"$(output)": output, "$(sim_source)": SIM_SOURCE[output]}
        return [
            Node(
                package="scribble_bridge",
                executable=executable,
                parameters=[{k: given.get(v, v) for k, v in params.items()}],
                output="screen",
            )
            for executable, params in NODES
        ]

    arguments = [
        DeclareLaunchArgument(name, default_value=default, description=description)
        for name, (default, description) in ARGUMENTS.items()
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=nodes)])
