"""A module that never finishes loading: it waits for a service that is not there.

check-app gives up after its load-time bound, in one line, with exit 2.
"""

import time

while True:  # "waiting for the database to come up"
    time.sleep(1)
