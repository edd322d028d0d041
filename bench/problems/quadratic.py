#!/usr/bin/env python3
"""An external program as a benchmark problem: a shifted 3-D quadratic with a small integer
penalty. It reads its parameters from the command line and prints the value as its last line,
which is all the `command` objective needs. Minimum 0 at x = 0.3, y = -0.2, n = 3."""

import sys

x, y, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print((x - 0.3) ** 2 + (y + 0.2) ** 2 + 0.1 * abs(n - 3))
