"""Reusable views of the ConvLab window: widgets that show state and emit the user's intents."""
