"""Outbound mail (issue 12, part 3): the hub's SMTP client and, for the demo and the
tests, a mail catcher on loopback that keeps what it receives (``simulator``)."""
