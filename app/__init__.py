"""SmolSight: local, private scene descriptions for blind and low-vision people."""

__version__ = "0.1.0"
