"""Aggregates of the tracker: actors, incidents, operations and the reports behind them."""
