"""Start ConvLab: python main.py [IMAGE | SESSION.convlab] [--screenshot PNG] [--size WxH]."""

import sys

from convlab.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
