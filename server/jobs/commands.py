"""``fieldround worker``: run the job worker as its own process (at scale; the
embedded worker in the server process is the one-machine default)."""

from __future__ import annotations

import asyncio
import signal

import click

from server.settings import Settings


async def _run(settings: Settings, concurrency: int, once: bool) -> int:
    from server.db.engine import create_engine, create_session_factory
    from server.jobs.worker import Worker

    engine = create_engine(settings.database_url)
    try:
        factory = create_session_factory(engine)
        workers = [Worker(settings, factory) for _ in range(concurrency)]
        if once:
            return sum(await asyncio.gather(*(w.run_until_idle() for w in workers)))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await asyncio.gather(*(w.run_forever(stop) for w in workers))
        return 0
    finally:
        await engine.dispose()


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 32), default=1, show_default=True, help="job loops here")
@click.option("--once", is_flag=True, help="run the jobs that are due, then exit")
@click.pass_obj
def worker_command(settings: Settings, concurrency: int, once: bool) -> None:
    """Run background jobs (photo processing) 后台任务. Stop with Ctrl-C or SIGTERM."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not once:
        click.echo(f"worker running with {concurrency} loop(s); set FIELDROUND_EMBEDDED_WORKER=0 on the servers")
    ran = asyncio.run(_run(settings, concurrency, once))
    if once:
        click.echo(f"{ran} job(s) run")
