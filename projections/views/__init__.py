"""View stores: where projections keep their documents and positions."""
