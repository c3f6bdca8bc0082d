"""python -m convlab [IMAGE | SESSION.convlab]  - the app;  python -m convlab export ...  - the export command."""

import sys


def run() -> int:
    if sys.argv[1:2] == ["export"]:
        from convlab.export import main as export_main

        return export_main(sys.argv[2:])
    from convlab.gui.app import main

    return main()


sys.exit(run())
