"""Reads (HackSoft "selectors"): functions that query the database or GET from Linq and change nothing.

cards    the card at Linq, the number's recent history, used form tokens
budget   the write budget (Linq's three writes per ten minutes), from the audit history
history  the audit history: filters, keyset pages, one entry, the CSV export rows
dashboard  every number of a team with its card, in one Linq call
teams    memberships, members, numbers, and what Linq lists for a team's token
"""
