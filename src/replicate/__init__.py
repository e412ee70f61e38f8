"""replicate: a shared library for replicating five papers on learning rates in deep networks."""

__version__ = "0.1.0"
