"""Start the writer and the simulated whiteboard with the same board parameters.

UNTESTED: the `launch` / `launch_ros` packages are not available as wheels, so this file has never been run
here (the tests start the two executables directly). On a ROS 2 install:

    ros2 launch scribble_bridge scribble.launch.py
    ros2 topic pub --once /text std_msgs/msg/String "{data: 'hello world'}"
"""

from launch import LaunchDescription
from launch_ros.actions import Node

BOARD = {
    "board_frame": "whiteboard",
    "letter_height_m": 0.04,
    "write_speed_mps": 0.05,
    "control_rate_hz": 50.0,
}


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [
            Node(package="scribble_bridge", executable="writer", parameters=[BOARD], output="screen"),
            Node(package="scribble_bridge", executable="whiteboard_sim", parameters=[BOARD], output="screen"),
        ]
    )
