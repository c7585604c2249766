"""Inference: the engines (backends), the model thread, prompts, requests, model files."""
