"""ConvLab: a desktop lab for learning and experimenting with convolutional networks."""

__version__ = "0.1.0"
