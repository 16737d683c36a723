"""Alerts: who is told what, when and how (email, a chat tool's incoming webhook), and the record of each telling."""
