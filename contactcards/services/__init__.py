"""Writes: every change to Linq or to our own records goes through a function here.

cards     card_update / card_create: re-read -> diff -> call -> audit, one typed outcome each
outcomes  the frozen outcome types a save returns (Saved, Unchanged, Conflict, Failed, ...)
diff      what changed between the loaded form, what was typed and the card at Linq
guard     one writer per number (lock), one write per form (token), the write budget check
audit     the only code that writes audit rows
teams     team administration: token, members, numbers
"""
