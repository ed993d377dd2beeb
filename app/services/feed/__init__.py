"""The live call feed: events folded into calls, the history, the stream, the recordings followed, the webhook receiver."""
