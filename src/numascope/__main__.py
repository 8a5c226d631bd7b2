import sys

from numascope.cli import main

sys.exit(main())
