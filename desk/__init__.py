"""desk: one customer-service desk for merchants who sell through several WeChat Channels stores."""

__version__ = "0.1.0"
