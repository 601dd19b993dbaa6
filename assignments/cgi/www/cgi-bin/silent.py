#!/usr/bin/env python3
"""The course's probe: a script that writes nothing at all and exits 0."""
