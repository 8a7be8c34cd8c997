import sys

from trajtok.cli import main

sys.exit(main())
