"""The delivery engine: runs of mailings, channel senders, the rate limiter, progress."""
