"""aggregator: find the meetups and professional events where your people will be."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/aggregator-dev/aggregator"
