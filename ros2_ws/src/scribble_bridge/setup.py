from glob import glob

from setuptools import setup

PACKAGE = "scribble_bridge"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="trajtok maintainers",
    maintainer_email="trajtok@example.com",
    description="ROS 2 bridge for trajtok: text -> waypoints -> a simulated arm writing on a whiteboard.",
    license="MIT",
    entry_points={
        "console_scripts": [
            f"writer = {PACKAGE}.runner:writer",
            f"whiteboard_sim = {PACKAGE}.runner:whiteboard_sim",
        ],
    },
)
