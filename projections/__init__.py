"""The read side: projections fold the event log into the views dashboards read."""
