"""Reading the sender's mailbox over IMAP: unsubscribe requests and bounce reports.

imap.py talks to the server (stdlib imaplib, in a worker thread), reports.py reads one
message, service.py holds the settings rules and the poller.
"""
