"""Changes made on both directors of a keepalived pair (see :mod:`lvstui.pair.both`)."""
