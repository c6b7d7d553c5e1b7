"""``manage.py pggit_listen``: the event listener process (README.md, Processes).

Follows the outbox ``pggit.events`` (LISTEN ``pggit_events``) and hands every event to the handlers
registered in ``pggit_project.events`` (the cache bumps namespaces; other apps add theirs). One copy
is active per database — it holds an advisory lock — and any other copies stand by and take over
when the active one's session ends. After a reconnect it catches up from the last event it saw;
a new leader resumes after the last event its predecessor forwarded to the sockets.
Stops cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from pggit_project.events import (
    close_handlers,
    dispatch_channel_message,
    dispatch_events,
    registered_channels,
    registered_event_handlers,
    resync_handlers,
)
from pggit_project.listener import EventListener
from pggit_project.realtime import resume_position


class Command(BaseCommand):
    help = "Follow the event outbox and dispatch events to the cache and the other consumers."

    def handle(self, *args, **options):
        stop = threading.Event()

        def request_stop(signum, frame):
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        names = ", ".join(handler.name for handler in registered_event_handlers()) or "none"
        self.stdout.write(f"pggit_listen: handlers: {names}")
        listener = EventListener(
            on_events=dispatch_events,
            on_connected=resync_handlers,
            on_message=dispatch_channel_message,
            extra_channels=registered_channels(),
            leader=True,
            stop=stop,
            name="pggit_listen",
            start_after=resume_position,
        )
        try:
            listener.run()
        finally:
            close_handlers()
        self.stdout.write("pggit_listen: stopped")
