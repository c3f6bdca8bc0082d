"""ConvLab's Qt user interface: the only package that imports PySide6 and pyqtgraph."""
