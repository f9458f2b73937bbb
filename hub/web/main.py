"""The ASGI entry point ``hub.web.main:app`` for uvicorn and other servers."""

from hub.config import get_settings
from hub.heap import settle_heap
from hub.signing.setup import signing_services
from hub.web.app import create_app

settings = get_settings()
send_jobs = None
if settings.redis_url:
    from hub.jobs.actors import configure, send

    configure(settings)
    send_jobs = send
app = create_app(settings, signing=signing_services(settings), send_jobs=send_jobs)
settle_heap()
