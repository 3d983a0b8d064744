import sys

from explorer.interface.cli import main

sys.exit(main())
