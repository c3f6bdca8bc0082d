"""The ConvLab engine: NumPy and OpenCV only, never Qt.

Arrays are NCHW float32 with PyTorch semantics (convolution is cross-correlation).
"""
