"""Parsers of the mail policy records health checks judge (SPF, DMARC, TLS-RPT).

Parsing is kept apart from DNS so each grammar can be read, tested and
fuzzed on its own: these modules take a record's text and say what it means
and what is wrong with it, as catalogue problems. They never query anything.
Record text is untrusted: every scan is a single linear pass, and no regular
expression here can backtrack.
"""
