"""Narration policy: prompts, change gate, de-duplication, modes and the scene log (no Qt)."""
