"""python -m convlab"""

import sys

from convlab.gui.app import main

sys.exit(main())
