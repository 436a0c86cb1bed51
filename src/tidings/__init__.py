"""Tidings: self-hostable conversational commerce and social CDP."""
