"""Imported by every Python process a test starts (tests/offline is first on its PYTHONPATH)."""

import netguard

netguard.install()
