"""lvstui: the terminal console for Linux Virtual Server (IPVS) directors."""

__version__ = "0.1.0"
