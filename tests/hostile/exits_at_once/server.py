# Hostile: exits before doing anything.
import sys
print("bye", file=sys.stderr)
sys.exit(3)
