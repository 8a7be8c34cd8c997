"""Quality of service shared by the nodes' publishers and subscribers, so both ends always match."""

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

# The last plan/picture, kept for subscribers that join later (RViz, a sim started after the writer).
LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
# The waypoint stream is a trajectory, not a "latest setpoint": a lost pose bends the line. The history holds
# 20 s at 50 Hz for a busy subscriber, and is kept for late ones: DDS discovery between two processes started
# together can take a second or more, and a subscriber matched mid-stream still gets the stream from its start
# (whiteboard_sim drops poses stamped before it started).
STREAM = QoSProfile(
    depth=1000, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
# Statuses keep their recent history too, so a monitor that matches late still sees "ready" and the last
# requests' outcomes.
STATUS = QoSProfile(
    depth=50, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
# For a node that acts on statuses (whiteboard_sim ends a stream on the writer's "done"): only live ones.
STATUS_LIVE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
