"""ilog's version (its own module, so that every layer can name it without importing ``ilog``)."""

__version__ = "0.2.0"
