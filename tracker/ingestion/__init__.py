"""Dataset importers: ACLED and UCDP GED exports become fact reports."""
