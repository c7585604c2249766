"""The engine: backends, prompts, requests, model resolution."""
