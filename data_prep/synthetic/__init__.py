"""Procedural synthetic bimanual dataset in ARCTIC's on-disk format (``handgen prep synthetic``)."""
