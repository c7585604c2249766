"""Small programs the tests run in a process of their own (on a real X server)."""
