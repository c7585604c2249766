"""Evaluation: VQA accuracy and multi-turn context, through the same engine as the app."""
