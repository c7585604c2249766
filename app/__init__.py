"""SmolSight: local, private scene descriptions for blind and low-vision people."""

import os

# OpenCV prints driver noise (probing camera indices, FFmpeg internals) to stderr; SmolSight
# reports every capture problem in plain words itself. Users can still set their own level.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
# OpenMP threads (PyTorch's) otherwise spin while idle, stealing the CPU from the GUI and from
# the capture thread on small machines.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
