"""What can be wrong with a card submission before any of its fields is read."""

from __future__ import annotations


class MalformedSubmission(Exception):
    """The card sent data no form of ours produces."""


class StaleCard(Exception):
    """The card was made by an older version of the form, or too long ago."""
