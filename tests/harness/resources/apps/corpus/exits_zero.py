"""A module that ends the process while it loads: ``sys.exit(0)`` when a setting is missing,
as some scripts do. check-app must not report success: one line, exit 2.
"""

import os
import sys

if "SHOP_SETTINGS" not in os.environ:
    print("SHOP_SETTINGS is not set; nothing to do")
    sys.exit(0)
