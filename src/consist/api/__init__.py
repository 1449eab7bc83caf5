"""The public facade and the single composition root."""
