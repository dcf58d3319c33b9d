"""The write side: facts reported about armed conflict, kept as immutable events."""
