"""ROS 2 nodes for trajtok: thin adapters between trajtok and ROS messages."""
