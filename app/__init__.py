"""SmolSight: local, private scene descriptions for blind and low-vision people."""

import os
import sys

# OpenCV prints driver noise (probing camera indices, FFmpeg internals) to stderr; SmolSight
# reports every capture problem in plain words itself. Users can still set their own level.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
# OpenMP threads (PyTorch's) otherwise spin while idle, stealing the CPU from the GUI and from
# the capture thread on small machines.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# OpenVINO's model converter and NNCF report usage to an analytics service unless the user
# opted out; SmolSight sends nothing anywhere. Both fall back to sending nothing when the
# telemetry package can't be imported, so it is made unimportable in SmolSight's processes.
sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]

__version__ = "0.1.0"
