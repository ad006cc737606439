"""IMR Desk: review California workers' compensation IMR Final Determination Letters."""

__version__ = "0.1.0"
