"""The preservation suite's marker for Gnumeric (ssconvert, Debian package gnumeric; .ci/run installs it)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "gnumeric: needs Gnumeric's ssconvert (Debian package gnumeric)")
