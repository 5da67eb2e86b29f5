"""Signals of the event loop for the apps that build on it (dependency direction: they import
events, events never imports them).

``entries_written`` — log entries written set-based, without Django's post_save: every new
case's first entry comes from one statement (events.newcases). Sent after the write commits,
with ``action`` and ``entry_ids``; a receiver that reacts to new log entries (the automatic
answers of dispatch.replies) listens here as well as on post_save.
"""

from django.dispatch import Signal

entries_written = Signal()
