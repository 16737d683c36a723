"""Helpers with no Django imports (a test checks): hidden characters (``text``), words marked now and
translated where they are shown (``words``)."""
