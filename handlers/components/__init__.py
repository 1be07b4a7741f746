"""Conversation parts that several features compose instead of copying them.

- calendar / date_picker: a day from the calendar or typed like 31.12.2030;
- time_picker: quick times ("Now" included) or a time typed like 18:30;
- confirm: a yes/no question whose answers are the host's own buttons;
- parts: the message parts of a mailing (channels, send mode, subject, text, image)
  and the draft as a guest sees it, bound to a host conversation's states.

Each asks, then calls its host back with the value (docs/architecture.md,
"Conversations and shared components").
"""
