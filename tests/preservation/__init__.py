"""The preservation suite (issue 12): a package, so its conftest and modules do not shadow tests/conftest.py."""
