"""Video summarization: scene segments, descriptions, a summary, and exports (no Qt widgets)."""
