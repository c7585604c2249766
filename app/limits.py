"""Limits that settings, capture and the server share (ground level: no other module of ours needed)."""

MAX_FRAMES = 64  # SmolVLM2's video limit: the most frames one request may carry
MAX_IMAGE_PIXELS = 40_000_000  # default limit: a 40-megapixel photo is fine, a 256-megapixel PNG is not
