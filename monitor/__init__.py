"""campaign-monitor: follow a city's hashtag campaign from exports and APIs to daily charts."""

__version__ = "0.1.0"
