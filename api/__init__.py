"""The edge: the `tracker` command and (later) the Flask JSON API."""
